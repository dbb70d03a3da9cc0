"""What a chapter tells its reader is said in words: no file paths, hashes, exception text, internal field names or
constant names; every number and list it gives fits the unit it names; what it claims about a method holds."""
from __future__ import annotations

import re
import urllib.error

import torch

INTERNAL = re.compile(r"Translation\.|nonfinite_step|OVG_DEFAULTS|\(failed, failure\)|URLError|urlopen|Errno|"
                      r"[\w-]+\.(pth|pt)\b|~/|/tmp|https?://")


# ----------------------------------------------------------------------------------- weights not available offline

def test_a_missing_metric_network_has_a_short_status_without_internals(monkeypatch, tmp_path):
    """The stored reason names files, folders, an address and the exception; the page's status names none of
    them and says the weights are not available offline."""
    from spectral_collapse.metrics import weights as W

    def fail(url, dst, hash_prefix=None, progress=True):
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(torch.hub, "download_url_to_file", fail)
    lp = W.ensure_weights(W.hub_checkpoint(W.ALEXNET_FILE), W.ALEXNET_URL, name="LPIPS AlexNet backbone",
                          allow_download=True).reason
    fid = W.ensure_weights(tmp_path / W.INCEPTION_FILE, W.INCEPTION_URL, name="clean-fid Inception",
                           allow_download=False).reason
    assert W.ALEXNET_FILE in lp and "URLError" in lp            # the reason keeps what a maintainer needs
    for status in (lp, fid):
        words = W.plain_status(status)
        assert words.startswith("not computed") and "not available offline" in words
        assert not INTERNAL.search(words) and str(tmp_path) not in words, words
    assert W.plain_status("ok: LPIPS AlexNet backbone from /x") == "computed"
    assert W.plain_status("not computed: the main results have no ground truth") == \
        "not computed: the main results have no ground truth"


def test_the_noise_samples_score_and_the_ks_p_value_are_named_in_words():
    from spectral_collapse.plotting.reader import reader_text

    out = reader_text("the eps model's noise_s_hf is 0.9 and ks_p is small")
    assert "noise_s_hf" not in out and "ks_p" not in out
    assert "of samples from noise" in out and "p-value" in out
