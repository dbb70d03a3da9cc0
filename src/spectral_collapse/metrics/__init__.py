"""The paper's metrics (App. B): latent diagnostics (S_G, S_DC, PCA, velocity spectra), spectral scores
(S_HF, S_LF, spectrum slope) and image similarity (PSNR, SSIM, MS-SSIM, HaarPSI)."""
from .image import MS_SSIM_WEIGHTS, haarpsi, ms_ssim, psnr, ssim
from .latent import (DecorrelationResult, GaussianityResult, decorrelation, decorrelation_threshold, gaussianity,
                     patch_roughness, pca_explained_variance, radial_power_spectrum, spectral_velocity)
from .spectral import (PIXEL_UNITS, delta_log_e, hf_log_energy, hf_reference, kappa_for_size, s_hf, s_lf,
                       spectrum_slope, wavelet_order)

__all__ = [
    "GaussianityResult", "gaussianity", "DecorrelationResult", "patch_roughness", "decorrelation_threshold",
    "decorrelation", "pca_explained_variance", "radial_power_spectrum", "spectral_velocity",
    "spectrum_slope", "wavelet_order", "PIXEL_UNITS", "hf_log_energy", "hf_reference", "s_hf", "delta_log_e",
    "kappa_for_size", "s_lf",
    "psnr", "ssim", "MS_SSIM_WEIGHTS", "ms_ssim", "haarpsi",
]
