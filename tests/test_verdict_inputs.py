"""Verdicts never decided by a missing or broken input: a claim the training seeds would decide says when one
training run decided it, a score that is NaN on every crop makes its claim not testable (naming the score), and the
tally refuses a root that holds no results of the profile, message first, with a non-zero exit."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from probes import probe
from spectral_collapse.claims import paper as C
from spectral_collapse.claims import evidence as EV
from spectral_collapse.claims.tally import main as tally_main
from spectral_collapse.verdicts import words as W
from test_verdict_words import _main

GOOD = {"ddim": 0.0, "taba": 0.3, "edm": 0.2}
CLAIM = next(c for c in C.CLAIMS if c.key == "collapse_sdc")


@probe("silent", "verdicts without seed-spread results (they read as before; the rule text said training seeds "
                 "decide)",
       "each verdict the seeds would decide carries the caveat 'decided on one training run', and the rule text "
       "says these results hold one training run")
def test_a_verdict_without_seed_spread_results_says_one_training_run_decided_it():
    ev = EV.evidence_of(_main(GOOD), "main")
    found = C.judge(CLAIM, ev)
    assert found.verdict == W.HOLDS and found.caveat == "decided on one training run"
    table = C.chapter_verdicts(_main(GOOD), keys=[CLAIM.key])
    assert table.loc[0, "caveat"] == "decided on one training run"
    assert "training seeds: these results hold one training run" in C.rules_text(table)
    ev.extra["seed_spread"] = {"ihc-sr": _main({0: GOOD, 1: GOOD}, [0, 1])}
    assert C.judge(CLAIM, ev).caveat == ""                           # two seeds decide: no caveat


@probe("unclear", "a seed-spread study with one training seed ('holds on every training seed (1)')",
       "the seed's verdict with 'decided on one training run', in the numbers and the caveat")
def test_one_training_seed_reads_as_one_training_run():
    ev = EV.evidence_of(_main(GOOD), "main")
    ev.extra["seed_spread"] = {"ihc-sr": _main({0: GOOD}, [0])}
    found = C.judge(CLAIM, ev)
    assert "every training seed" not in found.detail
    assert "training seed 0: holds (decided on one training run)" in found.detail
    assert found.caveat == "decided on one training run"


@probe("silent", "a realism score that is NaN on every crop (judged 'outside the real crops' band', deciding "
                 "`ovg_texture`)",
       "the claim is 'not testable here', naming the score that is NaN")
def test_a_nan_score_makes_the_texture_claim_not_testable_naming_the_score():
    from test_realism_gate import _as_methods, _controls_only

    from spectral_collapse.framework.controls import control_images

    ds, scoring, (src, gt, sigma) = _controls_only("ihc-sr")
    ds = ds.copy()
    ds.attrs.update(src=src, gt=gt)
    blur = control_images(src, gt, sigma=sigma, crops=range(len(gt)))["blur"]
    full = _as_methods(ds, {"ovg": gt, "ddim": blur}, scoring)
    claim = next(c for c in C.CLAIMS if c.key == "ovg_texture")
    assert claim.test(EV.Evidence(frame=pd.DataFrame(), extra={"main": {"ihc-sr": full}})).verdict == W.HOLDS
    score = full["delta_log_e_hf_luma_ref"].copy()
    score.loc[{"method": "ovg"}] = np.nan
    found = claim.test(EV.Evidence(frame=pd.DataFrame(), extra={"main": {"ihc-sr": full.assign(
        delta_log_e_hf_luma_ref=score)}}))
    assert found.verdict == W.UNTESTABLE
    assert "delta_log_e_hf_luma_ref of ovg is NaN on every crop" in found.detail


def _tally(capsys, *args) -> tuple[int, str]:
    with pytest.raises(SystemExit) as stop:
        tally_main([*map(str, args)])
    return stop.value.code, capsys.readouterr().err


@probe("silent", "`claims.tally` with a study folder as the root, or a root of another profile (21 x 'not "
                 "testable here', '0 claim(s) moved', exit code 0)",
       "one line first: no quick results found there, with what it holds and the fix; exit code 2")
def test_the_tally_refuses_a_root_without_the_profiles_results(tmp_path, capsys):
    study = tmp_path / "results" / "main_results"
    study.mkdir(parents=True)
    (study / "ihc-sr-smoke.nc").write_bytes(b"")
    code, err = _tally(capsys, "--before", study, "--after", study)
    assert code == 2 and err.splitlines()[0].endswith(
        f"error: no quick results found under {study}: it holds results files itself (ihc-sr-smoke.nc): a study's "
        f"folder; pass its parent {study.parent}")
    code, err = _tally(capsys, "--before", study.parent, "--after", study.parent)
    assert code == 2 and "no quick results found under" in err and err.splitlines()[0].endswith(
        "it holds results of the profile(s) smoke: pass --profile smoke")


@probe("late", "`claims.tally` given a path that is not there (a 9-line traceback before its message)",
       "the message on the first line, no traceback; exit code 2")
def test_the_tally_puts_a_bad_paths_message_first(tmp_path, capsys):
    code, err = _tally(capsys, "--before", tmp_path / "nowhere", "--after", tmp_path)
    assert code == 2 and "Traceback" not in err
    assert err.splitlines()[0].endswith(f"error: no results folder {tmp_path / 'nowhere'}: pass the root that holds "
                                        f"the studies' folders")
