"""Cells of notebooks/space_ablation.ipynb: the paper's Table 4 (pixel vs latent space)."""

from ._ablation import ablation_cells

TITLE = "Data-space ablation: pixel vs latent"
DATASETS = ("ihc-sr",)
ORDER = 61

CELLS = ablation_cells("space_ablation", """
# Data-space ablation, pixel vs latent: {dataset}

The paper's Table 4 (Sec. 6.3) trains the same eps-prediction DDIM framework in pixel space and in the latent space
of the SD VAE and finds that pixel-space inversion collapses as well (DDIM S_DC 0.07 in pixels, 0.69 in latents),
so the VAE is not the cause. Here the pixel arm is the profile's main eps U-Net; the latent arm is the same U-Net
reshaped to the latents of an AutoencoderKL (quick: a small VAE trained here on both pools, 4 x 16 x 16 latents of
32-px crops, scaling factor 1/std of the latents; paper: the SD VAE, 4 x 32 x 32, scaling 0.18215). The latent
models invert and sample latents: S_G, S_DC and the PCA are computed on those latents (their own dimension d), the
image metrics on the decoded outputs. The table below lists what was trained, including the VAE.
""", "runs too", extra=[
    ("md", "## The autoencoder\n\nScaling factor and reconstruction quality of the latent space (decoded test targets "
           "against the originals): an upper bound on what latent-space translations can reach."),
    ("code", '''
arm = json.loads(ds.attrs["per_arm"])["latent"]
ls = json.loads(arm["latent_space"] or "null")
print("latent space:", ls)
info = json.loads(arm.get("latent_space_info") or "null")   # stored with the results since 2026-11-22
if info is None and ls and ls.get("checkpoint"):             # older results: the trained VAE's own record
    from pathlib import Path
    from spectral_collapse.studies.models import CHECKPOINT_ROOT
    f = Path(CHECKPOINT_ROOT) / ls["checkpoint"] / "latent_space.json"
    if f.exists():
        info = json.loads(f.read_text())
    else:
        print(f"Reconstruction figures: these results predate storing them, and the VAE checkpoint that holds them "
              f"({f}) is not present; rerun the study (rerun=True) to show them.")
if info:
    print({k: round(v, 4) for k, v in info.items() if isinstance(v, float)})
'''),
])
