"""The command line's train, weights and download commands hand their options to the library and print what it
returns; `train --set` prints each model's quality gate, measured and never refused. The library calls are replaced
by stand-ins that record what they were given."""
from __future__ import annotations

from pathlib import Path

import pytest

from spectral_collapse import cli
from spectral_collapse.framework import gate, model_set as models


def test_train_set_prints_each_models_path_and_gate(monkeypatch, capsys):
    """Each model is loaded under a gate policy that allows it (so a weak one is reported, not refused)."""
    def load_role(profile, role):
        pol = gate.active_policy()
        assert pol is not None and pol.allow is True and profile == "smoke"
        pol.used[f"{role.key}-ckpt"] = {"passed": role.key.endswith("eps"), "failures": "std 0.3 > 0.1"}
        return type("Trained", (), {"path": Path(f"/ck/{role.key}")})()

    monkeypatch.setattr(models, "load_role", load_role)
    assert cli.main(["train", "--profile", "smoke", "--set", "ihc-sr-x4-eps", "ihc-sr-x4-edm"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "ihc-sr-x4-eps: /ck/ihc-sr-x4-eps", "  ihc-sr-x4-eps-ckpt: passes",
        "ihc-sr-x4-edm: /ck/ihc-sr-x4-edm", "  ihc-sr-x4-edm-ckpt: fails: std 0.3 > 0.1"]
    assert cli.main(["train", "--set", "no-such-model"]) == 1


def test_train_hands_each_parameterization_its_options(monkeypatch, capsys):
    calls = []

    def trained_model(profile, dataset, par, *, factor, options):
        calls.append((profile, dataset, par, factor, options))
        return type("Trained", (), {"path": f"/ck/{par}"})()

    monkeypatch.setattr(models, "trained_model", trained_model)
    assert cli.main(["train", "--dataset", "ihc-edges", "--param", "eps", "x0", "--factor", "4",
                     "--data-options", '{"seed": 2}']) == 0
    assert calls == [("quick", "ihc-edges", "eps", 4, {"seed": 2}), ("quick", "ihc-edges", "x0", 4, {"seed": 2})]
    assert capsys.readouterr().out.splitlines() == ["eps: /ck/eps", "x0: /ck/x0"]
    with pytest.raises(SystemExit):
        cli.main(["train", "--factor", "1"])


def test_weights_exports_each_finished_checkpoint_of_the_profile(monkeypatch, tmp_path, capsys):
    from spectral_collapse.train import shipped

    for name, done in (("m-quick-01", True), ("n-quick-02", False), ("m-smoke-03", True)):
        (tmp_path / "ck" / name).mkdir(parents=True)
        if done:
            (tmp_path / "ck" / name / "DONE").write_text("")
    exported = []
    monkeypatch.setattr(shipped, "export", lambda ckpt, out: exported.append((ckpt.name, out)) or Path(out) / ckpt.name)
    monkeypatch.setattr(shipped, "shipped_size", lambda root: 3 * 2**20)
    out = str(tmp_path / "w")
    assert cli.main(["weights", "--checkpoints", str(tmp_path / "ck"), "--out", out]) == 0
    assert exported == [("m-quick-01", out)]
    assert capsys.readouterr().out.splitlines()[-1] == f"1 checkpoints, 3.0 MiB under {out}"
    assert cli.main(["weights", "--profile", "paper", "--checkpoints", str(tmp_path / "ck")]) == 1
    assert "no finished paper checkpoint under" in capsys.readouterr().err


def test_download_allows_http_only_when_asked(monkeypatch, tmp_path, capsys):
    import os

    from spectral_collapse.data import download

    seen = []
    monkeypatch.setenv(download.HTTP_ENV, "0")   # restored after the test, whatever the command sets
    monkeypatch.setattr(download, "download_dataset",
                        lambda name, root: seen.append((name, root, os.environ.get(download.HTTP_ENV))) or "ready")
    assert cli.main(["download", "bbbc021", "--root", str(tmp_path)]) == 0
    assert cli.main(["download", "edges2shoes", "--allow-http"]) == 0
    assert seen == [("bbbc021", str(tmp_path), "0"), ("edges2shoes", None, "1")]
    assert capsys.readouterr().out.splitlines() == ["ready", "ready"]


def test_the_api_pages_docstring_hook_is_connected_to_autodoc():
    from spectral_collapse.pipeline import sphinx_docstrings

    connected = {}
    app = type("App", (), {"connect": lambda self, event, fn: connected.setdefault(event, fn)})()
    assert sphinx_docstrings.setup(app)["parallel_read_safe"] is True
    lines = ["Returns |x|_2 of `x`."]
    connected["autodoc-process-docstring"](app, "function", "f", None, {}, lines)
    assert lines == [".. code:: text", "", "   Returns |x|_2 of `x`.", ""]


@pytest.mark.parametrize("command", ["studies", "report"])
def test_the_study_option_lists_every_study_and_every_option_has_help(command, capsys):
    """`studies --help` names each study of the registry (so a user need not read the code to pick one) and says what
    each option does (an option with no help prints only its name)."""
    from spectral_collapse.studies.registry import STUDIES

    with pytest.raises(SystemExit):
        cli._parser().parse_args([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert all(name in text for name in STUDIES)
    action = next(a for a in cli._parser()._subparsers._group_actions[0].choices[command]._actions
                  if "--study" in a.option_strings)
    assert "of:" in action.help
    parser = cli._parser()._subparsers._group_actions[0].choices[command]
    assert [a.option_strings for a in parser._actions if a.option_strings and not a.help] == []
