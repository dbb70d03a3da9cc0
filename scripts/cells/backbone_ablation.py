"""Cells of notebooks/backbone_ablation.ipynb: the paper's Table 3 (U-Net vs DiT)."""

from ._ablation import ablation_cells

TITLE = "Backbone ablation: U-Net vs DiT"
DATASETS = ("ihc-sr",)
ORDER = 60

CELLS = ablation_cells("backbone_ablation", """
# Backbone ablation, U-Net vs DiT: {dataset}

The paper's Table 3 (Sec. 6.3) repeats BBBC021 x16 with a DiT-L/2 in place of the SD-1.5-like U-Net and finds the
same spectral collapse under standard (DDIM) inversion with both backbones (S_HF < 0.89, S_DC < 0.89) and the same
recovery under OVG (S_HF 0.96-0.97, S_DC 0.98), so the smoothness comes from the inversion dynamics, not from
convolutions. Here both backbones are class-conditional diffusers networks behind the same eps-prediction wrapper,
inverted and sampled by the same code: the U-Net is the profile's main eps model, the DiT a
`DiTTransformer2DModel` (quick: patch 4, 6 layers, width 128, about 2.1M parameters, pixel space, trained 1000
steps of batch 32 at lr 5e-4; paper profile: DiT-L/2 on SD-VAE latents, 120k steps as in App. D). The table
below lists exactly what was trained.
""", "runs too (DiT vs U-Net on edges)")
