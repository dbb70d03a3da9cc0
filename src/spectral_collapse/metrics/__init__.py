"""The paper's metrics (App. B): latent diagnostics (S_G, S_DC, PCA, velocity spectra), spectral scores
(S_HF, S_LF, spectrum slope) and image similarity (PSNR, SSIM, MS-SSIM, HaarPSI, LPIPS, FID / KID); ``METRICS``
maps the results tables' metric names to their functions."""
from . import fid as _fid
from .image import MS_SSIM_WEIGHTS, haarpsi, lpips, ms_ssim, psnr, ssim
from .latent import (DecorrelationResult, GaussianityResult, decorrelation, decorrelation_threshold, gaussianity,
                     ks_resolution, patch_roughness, pca_explained_variance, radial_power_spectrum,
                     sample_norm_ratio, spectral_velocity)
from .spectral import (PIXEL_UNITS, delta_log_e, hf_log_energy, hf_reference, kappa_for_size, s_hf, s_lf,
                       spectrum_slope, wavelet_order)

METRICS = {  # results-table name -> function (per sample unless noted)
    "psnr": psnr, "ssim": ssim, "ms_ssim": ms_ssim, "haarpsi": haarpsi, "lpips": lpips,
    "s_hf": s_hf, "delta_log_e_hf": delta_log_e, "s_lf": s_lf, "s_lf_gt": s_lf,
    "s_dc": decorrelation, "s_g": gaussianity,                                   # over a set of latents
    "pca": pca_explained_variance, "spectrum_slope": spectrum_slope,            # over a set
    "fid": _fid.fid_kid, "kid": _fid.fid_kid,                                    # over a set (with the real images)
}


def get_metric(name: str):
    """The function behind a metric name of the results tables; unknown names list the valid ones."""
    try:
        return METRICS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown metric {name!r}; valid metrics: {', '.join(sorted(METRICS))}") from None


__all__ = ["METRICS", "get_metric", "GaussianityResult", "gaussianity", "ks_resolution", "sample_norm_ratio",
           "DecorrelationResult", "patch_roughness", "decorrelation_threshold", "decorrelation",
           "pca_explained_variance", "radial_power_spectrum", "spectral_velocity", "spectrum_slope", "wavelet_order",
           "PIXEL_UNITS", "hf_log_energy", "hf_reference", "s_hf", "delta_log_e", "kappa_for_size", "s_lf", "psnr",
           "ssim", "MS_SSIM_WEIGHTS", "ms_ssim", "haarpsi", "lpips"]
