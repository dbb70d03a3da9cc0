"""Prose of the ablation chapters, the claims page and the main results' control notes: arm values in the reader's
words (never a raw backbone or space key, never "pixel space space"), the paper's own rows said where they go
against a claim a chapter quotes, the one-level PCA note in plain words, listings and verbs that agree with their
counts, one source for the studies' reader names."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from spectral_collapse.studies import claims as C
from spectral_collapse.studies import scorecard as S

SEEDS, N = (0, 1, 2), 8


def _crops(values: dict, metric: str, study: str, axis: str, arm: str) -> pd.DataFrame:
    rows = []
    for method, v in values.items():
        v = np.broadcast_to(np.asarray(v, float), (len(SEEDS), N))
        for i, s in enumerate(SEEDS):
            rows += [dict(study=study, dataset="ihc-sr", method=method, seed=s, sample=j, crop=i * N + j,
                          metric=metric, value=v[i, j], same_as="", **{axis: arm}) for j in range(N)]
    return pd.DataFrame(rows)


def _ablation_evidence(study: str, axis: str, arms: tuple[str, str], weak_arm: str) -> S.Evidence:
    """DDIM below TABA and OVG on every metric and arm; ``weak_arm``'s model is below the quality gate."""
    rng = np.random.default_rng(0)
    parts = [_crops({"ddim": 0.4 + 0.01 * rng.standard_normal((len(SEEDS), N)), "taba": 0.6, "ovg": 0.6}, m, study,
                    axis, arm) for arm in arms for m in ("s_hf", "s_dc")]
    cr = pd.concat(parts, ignore_index=True)
    keys = [c for c in cr.columns if c not in ("sample", "crop", "value")]
    frame = cr.groupby(keys, dropna=False)["value"].mean().reset_index()
    return S.Evidence(frame=frame, crops=cr, source="ours", weak={(study, "ihc-sr"): ["weak-model"]},
                      weak_arms={(study, "ihc-sr"): (axis, {weak_arm: ["weak-model"]})})


@pytest.mark.parametrize("key,study,axis,arms,words", [
    ("backbone", "backbone", "backbone", ("unet", "dit"), ("U-Net", "DiT")),
    ("space", "space", "space", ("pixel", "latent"), ("pixel space", "latent space")),
])
def test_an_ablations_verdict_names_its_arms_in_the_readers_words(key, study, axis, arms, words):
    from spectral_collapse.studies.claims_words import ARM_WORDS

    c = next(c for c in C.CLAIMS if c.key == key)
    found = C.judge(c, _ablation_evidence(study, axis, arms, weak_arm=arms[1]))
    said = C.findings_markdown([(c, found)])
    for raw, word in zip(arms, words):
        assert word == ARM_WORDS[axis](raw)
        assert f"ihc-sr {word}: " in found.detail                     # each comparison's arm, as the tables name it
        assert not re.search(rf"(?<![\w-]){raw}(?![\w-])", found.detail + found.caveat) or raw in word
    # the caveat names the arms once, with the axis once: "the U-Net backbone", "the pixel space"
    assert f"cover the {words[0]}{'' if words[0].endswith(axis) else ' ' + axis} only" in found.caveat
    assert f"the {words[1]}{'' if words[1].endswith(axis) else ' ' + axis} rests only" in found.caveat
    assert f"the {words[1]} model of the" in found.caveat
    assert f"{axis} {axis}" not in said and "diffusers' DiT" not in said


def test_arm_phrase_names_the_axis_once_and_agrees_in_number():
    from spectral_collapse.studies.claims_words import arm_phrase, listed

    assert arm_phrase("backbone", ["unet"]) == "the U-Net backbone"
    assert arm_phrase("backbone", ["unet", "dit"]) == "the U-Net and DiT backbones"
    assert arm_phrase("space", ["pixel"]) == "the pixel space"
    assert listed(["a", "b", "c"]) == "a, b and c" and listed(["a"]) == "a"


def _paper_mean(space: str, method: str, metric: str) -> float:
    from spectral_collapse.reference import paper_tables

    p = paper_tables()
    row = p[(p.table == "table4") & (p.space == space) & (p.method == method) & (p.metric == metric)]
    return float(row["mean"].iloc[0])


def test_a_chapter_says_where_the_papers_own_rows_go_against_the_claim_it_quotes():
    from spectral_collapse.report.claims_page import paper_dissent

    space = next(c for c in C.CLAIMS if c.key == "space")
    paper = space.test(S.paper_evidence())
    assert paper.verdict == C.FAILS        # the paper's pixel row: DDIM's S_HF above TABA's and OVG's
    ours = C.Finding(C.INCONCLUSIVE, "")
    said = paper_dissent([(space, ours)])
    ddim, taba = _paper_mean("pixel", "ddim", "s_hf"), _paper_mean("pixel", "taba", "s_hf")
    assert ddim > taba
    assert said.startswith("The paper's own tables do not support this claim:")   # "either" only beside our
    assert " either" not in said                                                     # own "does not hold"
    assert f"(BBBC021 pixel space: S_HF DDIM {ddim:.2f} vs TABA {taba:.2f}; " in said
    n_against = paper.detail.count(f"→ {C.FAILS}")
    assert f"{n_against} of the claim's {paper.detail.count(' → ')} comparisons go the other way" in said
    assert "latent space" not in said      # only the rows that go the other way
    edm = next(c for c in C.CLAIMS if c.key == "edm_tradeoff")
    one = edm.test(S.paper_evidence()).detail.count(f"→ {C.FAILS}")
    assert one == 1 and " comparisons goes the other way (" in paper_dissent([(edm, ours)])
    # a claim the paper's tables bear out adds nothing
    backbone = next(c for c in C.CLAIMS if c.key == "backbone")
    assert backbone.test(S.paper_evidence()).verdict == C.HOLDS
    assert paper_dissent([(backbone, ours)]) == ""
    # ours holding: no "either"
    assert "either" not in paper_dissent([(space, C.Finding(C.HOLDS, ""))])


def test_a_dataset_with_one_sparsity_level_says_plainly_what_it_compares():
    from spectral_collapse.studies.claims_ablations import _one_level

    v, text = _one_level("ihc-edges", "ddim", (C.HOLDS, "ihc-edges: k90 ddim − gaussian −2.4 [−3.0, −2.0] → holds"))
    assert v == C.UNTESTABLE
    assert "that half alone" not in text and ";" not in text        # one comparison: the page cuts at semicolons
    assert "fewer principal components than Gaussian noise" in text
    assert text.endswith("k90 ddim − gaussian −2.4 [−3.0, −2.0], which holds")
    assert text.count("ihc-edges") == 1
    _, text = _one_level("ihc-edges", "ddim", (C.INCONCLUSIVE, "ihc-edges: k90 ddim − gaussian −0.4 → inconclusive"))
    assert text.endswith("which is inconclusive")


def _controls(psnr: dict, copy_psnr: float, s_lf: dict, copy_s_lf: float, n: int = 24) -> xr.Dataset:
    rng = np.random.default_rng(1)
    base = rng.standard_normal(n)
    methods = list(psnr)
    return xr.Dataset(
        {"psnr": (("method", "seed", "sample"), np.stack([[psnr[m] + 0.5 * base] for m in methods])),
         "s_lf": (("method", "seed", "sample"), np.stack([[s_lf[m] + 0.01 * base] for m in methods])),
         "crop": (("seed", "sample"), np.arange(n)[None, :]),
         "control_psnr": (("control", "crop_index"), np.stack([np.full(n, copy_psnr), np.full(n, np.nan)])),
         "control_s_lf": (("control", "crop_index"), np.stack([np.full(n, copy_s_lf), np.full(n, 0.9)]))},
        coords={"method": methods, "seed": [0], "sample": np.arange(n), "control": ["copy", "ground_truth"],
                "crop_index": np.arange(n)})


def test_the_studies_reader_names_have_one_source():
    import spectral_collapse.studies.samples as samples
    from spectral_collapse.studies.claims_words import study_title
    from spectral_collapse.studies.samples import sample_size

    assert not hasattr(samples, "STUDY_NAMES")
    frame = pd.DataFrame({"study": ["space", "backbone"], "dataset": "ihc-sr", "method": "ddim", "seed": 0,
                          "metric": "s_hf", "value": 0.5, "failed": 0, "samples": np.nan})
    said = sample_size(S.Evidence(frame=frame), ("space", "backbone"))
    assert said.startswith(f"{study_title('space')}, ihc-sr") and f"; {study_title('backbone')}, ihc-sr" in said
