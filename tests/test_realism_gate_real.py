"""The gate compares each control with real crops scored as if they were a method, so it can fail: on a texture whose
test, reference and real crops are drawn alike, every gated score is shown a control it cannot see (a mirrored
truth for the energy scores and KID, colour-only noise for the luma score, grey noise for the chroma score) and
fails there, while it finds the controls it can see worse. Flat test crops are left out of the realism scores."""
import functools
from types import SimpleNamespace

import numpy as np
import torch
from scipy.ndimage import gaussian_filter

from spectral_collapse.data.unpaired import Task
from spectral_collapse.metrics import realism as R
from spectral_collapse.framework.controls import image_scores, realism_sets, scoring_settings
from spectral_collapse.framework.realism import GATED_SCORES, gate_table

N = 48


def _texture(n: int, seed: int, size: int = 32) -> torch.Tensor:
    """8-bit colour crops of one stationary, isotropic texture: a smooth grey field and weaker colour."""
    g = np.random.default_rng(seed)
    grey = gaussian_filter(g.normal(0, 1, (n, 1, size, size)), (0, 0, 1.2, 1.2), mode="wrap") * 0.5
    colour = gaussian_filter(g.normal(0, 1, (n, 3, size, size)), (0, 0, 1.0, 1.0), mode="wrap") * 0.12
    x = np.clip(grey + colour + np.array([0.1, -0.2, 0.0])[:, None, None], -1, 1)
    return torch.from_numpy(R.as_saved(x).astype(np.float32))


def _noise(truth: torch.Tensor, ycc_weights, seed: int) -> torch.Tensor:
    """The truth plus noise in Y, Cb, Cr scaled by ``ycc_weights`` (mapped back to RGB)."""
    g = np.random.default_rng(seed)
    n = g.normal(0, 1, (truth.shape[0], 3, *truth.shape[2:])) * np.asarray(ycc_weights)[:, None, None]
    rgb = np.einsum("ck,bkhw->bchw", np.linalg.inv(R.YCBCR_601), n) * 2      # [0, 1] units -> [-1, 1]
    return torch.from_numpy(np.clip(truth.numpy() + rgb, -1, 1).astype(np.float32))


@functools.lru_cache(maxsize=1)
def _gate():
    data = SimpleNamespace(target=_texture(600, 1), test_source=_texture(N, 2), task=Task("generic"))
    scoring = scoring_settings(data)
    truth = _texture(N, 3)
    src = torch.from_numpy(R.as_saved(gaussian_filter(truth.numpy(), (0, 0, 2, 2))).astype(np.float32))
    controls = {"mirrored": truth.flip(-1), "colour_only_noise": _noise(truth, [0, 0.06, 0.06], 4),
                "grey_noise": _noise(truth, [0.06, 0, 0], 5), "blur": src}
    real = scoring["real"][:N]
    scores = {c: image_scores(x, src, truth, scoring) for c, x in controls.items()}
    table = gate_table(scores, image_scores(real, src, truth, scoring), scoring["reference_features"])
    return table.set_index(["score", "control"]), scoring


def test_each_gated_score_fails_on_a_control_it_cannot_see():
    table, _ = _gate()
    blind = {"kid_wav": "mirrored", "s_hf": "mirrored", "delta_log_e_hf": "mirrored",
             "delta_log_e_hf_luma": "colour_only_noise", "delta_log_e_hf_chroma": "grey_noise"}
    assert set(blind) == set(GATED_SCORES)
    for score, control in blind.items():
        assert not table.loc[(score, control), "worse"], (score, control, table.loc[score])
        assert not table.loc[(score, control), "passes"]


def test_the_gate_sees_what_a_score_can_see():
    table, _ = _gate()
    for score, control in (("kid_wav", "blur"), ("kid_wav", "grey_noise"), ("kid_wav", "colour_only_noise"),
                           ("delta_log_e_hf_luma", "grey_noise"), ("delta_log_e_hf_luma", "blur"),
                           ("delta_log_e_hf_chroma", "colour_only_noise"), ("s_hf", "blur")):
        assert table.loc[(score, control), "worse"], (score, control, table.loc[score])


def test_flat_crops_are_left_out_alike_of_test_reference_and_real_sets():
    """A uniform crop (a dark background) in the target pool is counted and dropped from both real sets; a flat
    ground-truth crop leaves its texture scores NaN (KID leaves it out), its other crops scored as before."""
    target = _texture(200, 6)
    target[::5] = -0.9                                       # 40 flat crops, 20 in each interleaved set
    data = SimpleNamespace(target=target, test_source=_texture(8, 7), task=Task("generic"))
    ref, real, flat = realism_sets(data)
    assert flat == {"reference": 20, "real": 20} and len(ref) == 80 and len(real) == 80
    assert not R.flat_crops(ref).any() and not R.flat_crops(real).any()
    scoring = scoring_settings(data)
    truth = _texture(8, 8)
    truth[2] = 0.3
    s = image_scores(truth, truth, truth, scoring)
    assert np.isnan(s["wav_features"][2]).all() and np.isnan(s["delta_log_e_hf_luma_ref"][2])
    assert np.isfinite(np.delete(s["wav_features"], 2, axis=0)).all()
    assert np.isfinite(s["s_hf"]).all()                      # the paper's own scores keep every crop
