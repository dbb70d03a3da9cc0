"""The training-seed chapter's prose: which means agree with the main results is counted at the precision the
sentence prints them; the software note and the verdict read plainly and do not repeat the claims' scope."""
import json

import numpy as np
import xarray as xr


def _runs(shift: float, versions: dict) -> tuple[xr.Dataset, xr.Dataset]:
    rng = np.random.default_rng(0)
    vals = rng.uniform(10, 20, size=(2, 2, 4))
    ds = xr.Dataset({"psnr": (("train_seed", "method", "crop"), vals)},
                    coords={"train_seed": [0, 1], "method": ["ddim", "taba"]},
                    attrs={"versions": json.dumps(versions)})
    main_vals = vals[0].copy()
    main_vals[0] += shift          # ddim moves by ``shift``, taba stays the same
    main = xr.Dataset({"psnr": (("method", "crop"), main_vals)}, coords={"method": ["ddim", "taba"]},
                      attrs={"versions": json.dumps({"torch": "0.0", "python": "0.0"})})
    return ds, main


def test_means_that_print_the_same_count_as_the_same():
    from spectral_collapse.report.seeds import main_results_agreement

    ds, main = _runs(1e-6, {"torch": "0.0", "python": "0.0"})   # a gap far below the printed precision
    text = main_results_agreement(ds, main, metrics=("psnr",))
    assert "2 are the same in both" in text and "agree exactly" not in text


def test_software_note_is_plain():
    from spectral_collapse.report.seeds import software_text

    ds, main = _runs(0.5, {"torch": "9.9", "python": "9.9"})
    text = software_text(ds, main)
    assert text and "mixes" not in text and "which show the main results," not in text


def test_verdict_does_not_repeat_the_claims_scope():
    import inspect

    from spectral_collapse.report import seeds

    assert "claim_set_words(" not in inspect.getsource(seeds.seed_verdict)


def test_outlier_heading_is_not_followed_by_a_colon_clause():
    import inspect

    from spectral_collapse.report import seed_outliers

    src = inspect.getsource(seed_outliers)
    assert "**Runs far outside the others**:" not in src
