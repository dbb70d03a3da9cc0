"""The paper's metrics (App. B): latent diagnostics (S_G, S_DC, PCA, velocity spectra), spectral scores
(S_HF, S_LF, spectrum slope) and image similarity (PSNR, SSIM, MS-SSIM, HaarPSI)."""
from .latent import (DecorrelationResult, GaussianityResult, decorrelation, decorrelation_threshold, gaussianity,
                     patch_roughness, pca_explained_variance, radial_power_spectrum, spectral_velocity)

__all__ = [
    "GaussianityResult", "gaussianity", "DecorrelationResult", "patch_roughness", "decorrelation_threshold",
    "decorrelation", "pca_explained_variance", "radial_power_spectrum", "spectral_velocity",
]
