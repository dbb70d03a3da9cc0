"""Parameters and inputs that crashed a study or the loop, or showed another value than the one used: each is
refused before any work with a message naming the value and the fix, or shown as it was used."""
from __future__ import annotations

import pytest
import torch
import xarray as xr

from conftest import oracle_denoiser, tiny_unet
from probes import probe
from spectral_collapse.inversion import Euler, invert, sample, translate
from spectral_collapse.models.denoisers import make_denoiser
from spectral_collapse.models.schedules import VPSchedule
from spectral_collapse.pipeline.parameters import parameters_table
from spectral_collapse.pipeline.runner import run_study
from spectral_collapse.studies.registry import study_spec


@probe("crash", "`-p methods '[\"ddim\",\"ddim\"]'` (a method named twice)",
       "refused before any work, naming the repeated method; no results file is written")
def test_a_repeated_method_is_refused_before_any_work(tmp_path, monkeypatch):
    import spectral_collapse.studies.main_results as translation

    monkeypatch.setattr(translation, "run_main_results", lambda spec, ctx: pytest.fail("the study ran before the check"))
    with pytest.raises(ValueError, match=r"methods lists ddim more than once; give each value once"):
        run_study("main_results", dataset="ihc-sr", profile="smoke", methods='["ddim","ddim"]',
                  results_root=tmp_path / "results")
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize("name", ["seeds", "factors"])
def test_every_list_parameter_refuses_a_repeated_value(name):
    with pytest.raises(ValueError, match=f"{name} lists 4 more than once"):
        study_spec("scale_factor", dataset="ihc-sr", profile="smoke", **{name: "[4, 2, 4]"})


@probe("crash", "`-p seeds '[99999999999999999999]'`", "refused before any work, naming the allowed range")
def test_a_seed_out_of_range_is_refused_naming_the_range():
    with pytest.raises(ValueError, match=r"seeds=99999999999999999999 is out of range; give a value from 0 up to "
                                         r"4294967295"):
        study_spec("main_results", dataset="ihc-sr", profile="smoke", seeds="[99999999999999999999]")
    largest = study_spec("main_results", dataset="ihc-sr", profile="smoke", seeds=[2 ** 32 - 1])
    assert list(largest["seeds"]) == [2 ** 32 - 1]
    torch.Generator().manual_seed(2 ** 32 - 1)   # every seed of the range seeds torch's and numpy's generators
    __import__("numpy").random.RandomState(2 ** 32 - 1)


@probe("silent", "`-p n_images 1000000000` on data holding 8 crops",
       "the settings table shows the 8 crops used and that the given value was limited to them")
def test_the_settings_table_shows_the_count_used_where_the_data_holds_fewer():
    spec = {"study": "pareto", "dataset": "ihc-sr", "profile": "smoke", "params": {"n_images": 1000000000}}
    ds = xr.Dataset(attrs={"n_images": 8})   # what pareto_results records: the crops it swept
    row = next(r for r in parameters_table(spec, ds).splitlines() if r.startswith("| n_images |"))
    assert row == "| n_images | 8 | given for this chapter as 1000000000, limited to what the data holds |"
    same = {**spec, "params": {"n_images": 8}}
    assert "| n_images | 8 | given for this chapter |" in parameters_table(same, ds)


def _unet32():
    return make_denoiser(tiny_unet(dtype=torch.float32), "eps", schedule=VPSchedule())


@probe("unclear", "`translate` given uint8 images", "refused at translate's entry with the conversion to use")
def test_translate_refuses_integer_images_with_the_conversion():
    x = torch.zeros(2, 3, 16, 16, dtype=torch.uint8)
    with pytest.raises(TypeError, match=r"x_src has dtype uint8; the models take float images in \[-1, 1\]: pass "
                                        r"x_src.float\(\) / 127.5 - 1"):
        translate(_unet32(), x, Euler(), steps=2)


@probe("unclear", "`translate` given 3-D input (one image without a batch)",
       "refused at translate's entry naming the shape and `x[None]`")
def test_translate_refuses_an_image_without_a_batch():
    with pytest.raises(ValueError, match=r"x_src has shape \(3, 16, 16\); the loop takes a batch of images "
                                         r"\(B, C, H, W\); for one image pass x_src\[None\]"):
        translate(_unet32(), torch.zeros(3, 16, 16), Euler(), steps=2)
    with pytest.raises(ValueError, match=r"x0 has shape \(3, 16, 16\)"):
        invert(_unet32(), torch.zeros(3, 16, 16), torch.linspace(0.1, 10, 3), Euler())
    with pytest.raises(TypeError, match=r"x has dtype int64"):
        sample(_unet32(), torch.zeros(1, 3, 16, 16, dtype=torch.long), torch.linspace(0.1, 10, 3), Euler())


@probe("unclear", "`translate` given float64 images to a float32 model",
       "accepted: converted to the model's dtype at translate's entry")
def test_translate_converts_float64_images_to_the_models_dtype():
    D = _unet32()
    x = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 2 - 1
    out = translate(D, x, Euler(), steps=2, warn_norm=False)
    ref = translate(D, x.float(), Euler(), steps=2, warn_norm=False)
    assert out.output.dtype == torch.float32
    torch.testing.assert_close(out.output, ref.output, rtol=0, atol=0)


def test_a_model_without_weights_keeps_the_precision_it_is_given():
    """The analytic oracle (a scalar placeholder parameter only) runs float64 input in float64."""
    x = torch.rand(2, 3, 4, 4, dtype=torch.float64)
    assert translate(oracle_denoiser("eps"), x, Euler(), steps=2, warn_norm=False).output.dtype == torch.float64
