"""Re-exports the main-results tables of ``studies.tables`` under their former import path."""
from ..studies.tables import (MAIN_CLAIMS, beside_table, failed_counts, latent_gaussianity_table,  # noqa: F401
                              noise_sample_table, null_class_scale, smallest_norm_error)
