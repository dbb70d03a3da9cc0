"""A dataset declares its task when it is loaded (data.Task); nothing downstream branches on a dataset's name."""
from __future__ import annotations

import csv
import dataclasses
import functools
import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from spectral_collapse.data import DATASETS, TASK_KINDS, Task, load_dataset, load_folder, register_dataset
from spectral_collapse.train.config import data_identity

# ---------------------------------------------------------------- Task itself


def test_task_defaults_and_describe_round_trip():
    assert Task() == Task("generic", None)
    assert Task("sr", 4).describe() == {"kind": "sr", "factor": 4}
    assert Task("edges").describe() == {"kind": "edges", "factor": None}
    for t in (Task(), Task("sr", 8), Task("edges")):
        assert json.loads(json.dumps(t.describe())) == t.describe()  # JSON-able
        assert Task.parse(t.describe()) == t
        assert Task.parse(t) is t
    assert str(Task("sr", 4)) == "sr x4" and str(Task("edges")) == "edges"
    assert isinstance(Task("sr", np.int64(2)).factor, int)
    with pytest.raises(dataclasses.FrozenInstanceError):
        Task("sr", 4).factor = 2


@pytest.mark.parametrize("kind,factor,match", [
    ("super-res", None, r"unknown task kind 'super-res'; valid kinds: sr, edges, generic"),
    ("SR", 4, r"unknown task kind 'SR'"),
    (None, None, r"unknown task kind None"),
    ("sr", None, r"task 'sr' needs a whole-number factor >= 2, got factor=None"),
    ("sr", 0, r"factor=0"),
    ("sr", -2, r"factor=-2"),
    ("sr", 2.0, r"factor=2\.0"),
    ("sr", True, r"factor=True"),
    ("sr", "4", r"factor='4'"),
    ("edges", 4, r"task 'edges' takes no factor, got factor=4"),
    ("generic", 2, r"task 'generic' takes no factor, got factor=2.*valid kinds: sr, edges, generic"),
])
def test_task_validation_errors_name_the_bad_value(kind, factor, match):
    with pytest.raises(ValueError, match=match):
        Task(kind, factor)


def test_task_parse_forms():
    assert TASK_KINDS == ("sr", "edges", "generic")
    assert Task.parse(None) == Task()
    assert Task.parse("generic") == Task() and Task.parse("edges") == Task("edges")
    assert Task.parse(" SR ", factor=4) == Task("sr", 4)
    assert Task.parse("edges", factor=4) == Task("edges")  # the fallback factor only fills an "sr" task
    assert Task.parse({"task": "sr", "factor": 4}) == Task("sr", 4)
    assert Task.parse({"kind": "sr", "factor": 8}, factor=4) == Task("sr", 8)  # the task's own factor wins
    assert Task.parse({"kind": "sr"}, factor=2) == Task("sr", 2)
    assert Task.parse({"kind": "edges"}) == Task("edges")
    assert Task.parse({}) == Task()
    assert Task.parse('{"task": "sr", "factor": 4}') == Task("sr", 4)  # JSON text (CLI, papermill)


@pytest.mark.parametrize("value,match", [
    ("sr", r"task 'sr' needs a whole-number factor"),
    ("shoes", r"unknown task kind 'shoes'; valid kinds: sr, edges, generic"),
    ({"kind": "sr", "factor": 4, "scale": 2}, r"unknown key\(s\) \['scale'\]"),
    ({"kind": "sr", "task": "edges"}, r"names two kinds"),
    ({"kind": "edges", "factor": 4}, r"task 'edges' takes no factor"),
    ('{"kind": "sr", ', r"not valid JSON"),
    (4, r"cannot read a task from 4 \(int\)"),
])
def test_task_parse_errors(value, match):
    with pytest.raises(ValueError, match=match):
        Task.parse(value)


# ---------------------------------------------------------------- declared tasks of the datasets


@pytest.mark.parametrize("factor", [2, 4, 8])
def test_bundled_ihc_sr_declares_sr_with_its_factor(factor):
    assert load_dataset("ihc-sr", size=32, factor=factor).task == Task("sr", factor)


def test_bundled_ihc_edges_declares_edges():
    d = load_dataset("ihc-edges", size=32, factor=4)  # the SR factor does not leak into an edges task
    assert d.task == Task("edges") and d.task.factor is None


def _save(path: Path, arr: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)


def _prepared_bbbc021(root: Path, fields: int = 4, size: int = 32) -> Path:
    """A minimal prepared BBBC021 tree (what bbbc021.prepare writes): prepared.json, index.csv, PNGs."""
    prep = root / "bbbc021" / "prepared"
    rng = np.random.default_rng(0)
    rows = []
    for i in range(fields):
        rel = f"images/P1/f{i}.png"
        _save(prep / rel, rng.integers(0, 256, (size, size, 3), dtype=np.uint8))
        rows.append({"id": f"f{i}", "field": f"f{i}", "file": rel, "plate": "P1"})
    with open(prep / "index.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    (prep / "prepared.json").write_text(json.dumps({"settings": {"size": size}, "plates": ["P1"]}))
    return root


def _prepared_edges2shoes(root: Path, n: int = 4, size: int = 16) -> Path:
    """A minimal prepared Edges2Shoes tree: side-by-side (edges | photo) pairs listed in prepared.json."""
    prep = root / "edges2shoes" / "prepared"
    rng = np.random.default_rng(1)
    info = {"train": [], "val": []}
    for split, k in (("train", n), ("val", 2)):
        for i in range(k):
            rel = f"edges2shoes/{split}/{i}_AB.png"
            _save(prep / rel, rng.integers(0, 256, (size, 2 * size, 3), dtype=np.uint8))
            info[split].append(rel)
    (prep / "prepared.json").write_text(json.dumps(info))
    return root


@pytest.mark.parametrize("factor", [4, 8])
def test_bbbc021_declares_sr_with_its_factor(tmp_path, factor):
    d = load_dataset("bbbc021", size=32, factor=factor, root=_prepared_bbbc021(tmp_path), test_fraction=0.25)
    assert d.task == Task("sr", factor)


def test_edges2shoes_declares_edges(tmp_path):
    d = load_dataset("edges2shoes", size=16, factor=8, root=_prepared_edges2shoes(tmp_path))
    assert d.task == Task("edges")


# ---------------------------------------------------------------- folders


def _folders(root: Path, n: int = 2, size: int = 16) -> Path:
    """The user-folder layout: <root>/{source,target,test_source,test_target}/ with flat PNGs (paired by name)."""
    rng = np.random.default_rng(2)
    for sub in ("source", "target", "test_source", "test_target"):
        for i in range(n):
            _save(root / sub / f"im{i}.png", rng.integers(0, 256, (size, size, 3), dtype=np.uint8))
    return root


def test_folder_default_task_is_generic(tmp_path):
    d = load_folder(_folders(tmp_path), size=16, factor=4)
    assert d.task == Task() and d.task.factor is None
    assert load_dataset("folder", root=tmp_path, size=16).task == Task()  # load_dataset's factor=4 adds nothing


@pytest.mark.parametrize("task,factor,expected", [
    (Task("sr", 4), None, Task("sr", 4)),
    ({"task": "sr", "factor": 2}, None, Task("sr", 2)),
    ({"kind": "edges"}, None, Task("edges")),
    ("sr", 4, Task("sr", 4)),  # the factor argument completes a bare "sr"
    ("edges", 4, Task("edges")),
    ("generic", None, Task()),
])
def test_folder_task_argument_forms(tmp_path, task, factor, expected):
    assert load_folder(_folders(tmp_path), size=16, factor=factor, task=task).task == expected


def test_folder_sr_task_supplies_the_checked_factor(tmp_path):
    root = _folders(tmp_path)
    d = load_folder(root, size=16, task={"kind": "sr", "factor": 4}, degrade_source=True)
    assert d.meta["factor"] == 4 and d.task == Task("sr", 4)
    with pytest.raises(ValueError, match="not divisible by the SR factor 3"):
        load_folder(root, size=16, task=Task("sr", 3))
    with pytest.raises(ValueError, match="task 'sr' needs a whole-number factor"):
        load_folder(root, size=16, task="sr")


def test_folder_registered_under_a_misleading_name_keeps_its_generic_task(tmp_path):
    # The name holds both "sr" and "edges": anything that guessed the task from the name would get it wrong.
    builder = functools.partial(load_folder, root=_folders(tmp_path), name="my-sr-edges", task="generic")
    register_dataset("my-sr-edges", builder)
    try:
        d = load_dataset("my-sr-edges", size=16, factor=4)
        assert d.name == "my-sr-edges"
        assert d.task.kind == "generic" and d.task.factor is None
        assert d.task.describe() == {"kind": "generic", "factor": None}
    finally:
        del DATASETS["my-sr-edges"]


# ---------------------------------------------------------------- load_dataset(task=...) overrides


def test_load_dataset_task_overrides_the_declared_task(tmp_path):
    assert load_dataset("ihc-sr", size=32, factor=4, task="generic").task == Task()
    assert load_dataset("ihc-edges", size=32, factor=4, task="sr").task == Task("sr", 4)
    assert load_dataset("ihc-edges", size=32, task={"kind": "sr", "factor": 8}).task == Task("sr", 8)
    assert load_dataset("ihc-sr", size=32, factor=4, task=Task("edges")).task == Task("edges")
    root = _folders(tmp_path)
    assert load_dataset("folder", root=root, size=16, task="edges").task == Task("edges")
    assert load_dataset("folder", root=root, size=16, factor=2, task="sr").task == Task("sr", 2)
    # a builder that knows nothing of tasks (declares the default) is overridden too
    register_dataset("tmp-plain", lambda *, size, factor, **kw: load_folder(root, size=size))
    try:
        assert load_dataset("tmp-plain", size=16).task == Task()
        assert load_dataset("tmp-plain", size=16, task={"task": "sr", "factor": 4}).task == Task("sr", 4)
    finally:
        del DATASETS["tmp-plain"]


def test_load_dataset_override_keeps_the_data_and_the_cache():
    base = load_dataset("ihc-sr", size=32, factor=4)
    assert load_dataset("ihc-sr", size=32, factor=4, task=None) is base
    assert load_dataset("ihc-sr", size=32, factor=4, task="sr") is base  # same task: the cached object
    other = load_dataset("ihc-sr", size=32, factor=4, task="generic")
    assert other is not base and base.task == Task("sr", 4)  # the cached dataset is not mutated
    assert other.source is base.source and other.meta == base.meta and other.name == base.name


def test_load_dataset_rejects_bad_tasks():
    with pytest.raises(ValueError, match="unknown task kind 'colour'; valid kinds: sr, edges, generic"):
        load_dataset("ihc-sr", size=32, task="colour")
    with pytest.raises(ValueError, match=r"task sr x3 does not fit size 32"):
        load_dataset("ihc-edges", size=32, task={"kind": "sr", "factor": 3})


# ---------------------------------------------------------------- checkpoint hashes stay as they were


@pytest.mark.parametrize("name,factor", [("ihc-sr", 4), ("ihc-sr", 8), ("ihc-edges", 4)])
def test_task_stays_out_of_thedata_identity(name, factor):
    # The trainer names checkpoint folders by a hash of (model, train config, data_identity(data)), and
    # data_identity is {"name", "meta"}. The bundled models were trained before datasets had a task (e.g.
    # ihc-sr-x4-eps-quick-45a9cd98ba55); putting the task into meta (or the identity) would rename every folder and
    # retrain. The task does not change what is trained (only the two pools are), so it lives in its own field.
    d = load_dataset(name, size=32, factor=factor)
    ident = data_identity(d)
    assert set(ident) == {"name", "meta"}
    text = json.dumps(ident, sort_keys=True)
    assert '"task"' not in text and "kind" not in ident["meta"]
    assert data_identity(dataclasses.replace(d, task=Task())) == ident  # the task cannot move the hash


def test_every_quick_model_has_shipped_weights_under_its_config_hash(tmp_path):
    """Each model of the quick set (``framework.model_set.MODEL_SET``, and its training-seed replicates
    ``SEED_REPLICATES``) and of the smoke profile's shipped ones (``SMOKE_SHIPPED``, with their gate reports) is named
    by the hash of its profile config, model and data (``checkpoint_name``), and
    data/weights holds that folder: a change of profile, model or data that
    moves a hash without new weights would make every fresh clone retrain that model. The latent arm's name
    depends on its autoencoder, installed here from the shipped weights into a scratch root."""
    from pathlib import Path

    from spectral_collapse.framework.model_set import MODEL_SET, SEED_REPLICATES, SMOKE_SHIPPED, checkpoint_name

    shipped = Path(__file__).resolve().parents[1] / "data" / "weights"
    have = sorted(p.name for p in shipped.iterdir() if not p.name.startswith("."))
    names = {r.key: checkpoint_name("quick", r, root=str(tmp_path)) for r in MODEL_SET + SEED_REPLICATES}
    names.update({f"{r.key} (smoke)": checkpoint_name("smoke", r, root=str(tmp_path)) for r in SMOKE_SHIPPED})
    missing = {k: n for k, n in names.items() if n not in have}
    assert not missing, f"no shipped weights for {missing}; data/weights holds {have}"
    for r in SMOKE_SHIPPED:   # measured once with the weights: a first smoke run gates nothing
        assert (shipped / names[f"{r.key} (smoke)"] / "quality.json").is_file(), r.key
    sets = sorted(n for n in have if n not in names.values() and not (shipped / n / "sha256.json").exists()
                  and any((shipped / n).glob("*/sha256.json")))
    unused = sorted(set(have) - set(names.values()) - set(sets))  # configurations no longer used: they only add bytes
    assert not unused, f"data/weights holds folders no quick model uses: {unused}"
    for alt in sets:  # another training of the whole quick set (data/weights/h100-from-scratch), kept to adopt
        keys = sorted(re.sub(r"-quick-[0-9a-f]{12}$", "", f.parent.name) for f in (shipped / alt).glob("*/sha256.json"))
        assert keys == sorted(r.key for r in MODEL_SET), f"{alt} is not one complete quick model set: {keys}"


@pytest.mark.parametrize("name,factor,digest", [("ihc-sr", 4, "3e3fcca1977e"), ("ihc-sr", 8, "f2f983eba4d8"),
                                                ("ihc-edges", 4, "b9ffebef82c7")])
def test_bundled_data_identity_digest_is_unchanged(name, factor, digest):
    # Digests of data_identity computed before datasets had a task (same code path as the trainer's hash input).
    import hashlib

    ident = data_identity(load_dataset(name, size=32, factor=factor))
    assert hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:12] == digest


@pytest.mark.parametrize("entry", ["task", "bundled", "data_options", "folder"])
def test_a_factor_of_one_is_refused_at_every_entry_point(entry, tmp_path):
    """x1 'super-resolution' leaves the input unchanged: every way in refuses it, as the command line does."""
    from spectral_collapse.data import load_dataset
    from spectral_collapse.framework.user_models import spec_data
    from spectral_collapse.studies.registry import study_spec

    with pytest.raises(ValueError, match=r"(factor|factor=1).*>= 2"):
        if entry == "task":
            Task("sr", 1)
        elif entry == "bundled":
            load_dataset("ihc-sr", size=32, factor=1)
        elif entry == "data_options":
            spec_data(study_spec("main_results", dataset="ihc-sr", profile="smoke", data_options={"factor": 1}))
        else:
            from spectral_collapse.data.folder import load_folder

            load_folder(tmp_path, size=16, factor=1, task="sr")


def test_checkpoint_name_is_the_folder_each_kind_of_model_trains_into(tmp_path, monkeypatch):
    """``checkpoint_name`` computes, without training, the folder a model of the set is trained into and shipped
    under: for a pixel U-Net, a DiT, the autoencoder and the latent model (whose name carries its autoencoder), it is
    the folder that training the smoke-profile model actually writes."""
    from pathlib import Path

    from spectral_collapse.framework import model_set as models_mod
    from spectral_collapse.framework.model_set import checkpoint_name, load_role, model_set

    monkeypatch.setattr(models_mod, "CHECKPOINT_ROOT", str(tmp_path))
    for role in model_set(["ihc-sr-x4-eps", "ihc-sr-x4-edm", "ihc-sr-x4-eps-dit", "ihc-sr-x4-vae",
                           "ihc-sr-x4-eps-latent"]):
        got = load_role("smoke", role, progress=False, root=str(tmp_path))
        assert checkpoint_name("smoke", role, root=str(tmp_path)) == Path(got.path).name, role.key
