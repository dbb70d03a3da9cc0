"""Each claim's heading on the claims page (``studies.claims``): what the claim says, in words."""

CLAIM_TITLES = {
    "collapse_sdc": "Standard inversion leaves correlated latents",
    "collapse_shf": "Standard inversion loses high frequencies",
    "table1": "Stochastic inversions beat deterministic ones on texture (Table 1)",
    "pca_collapse": "Inverted latents need fewer principal components, fewer as inputs get sparser",
    "corr_hf_dc": "Texture and decorrelation go together",
    "corr_dc_g": "Decorrelation and Gaussianity go together",
    "tradeoff_lf_dc": "Decorrelated latents cost structure",
    "edm_tradeoff": "EDM restores texture and loses structure",
    "ovg_vs_ddim": "OVG removes the collapse of standard inversion",
    "taba_structure": "TABA pays for texture with structure",
    "ovg_front": "An OVG variant is on the texture / structure front",
    "ovg_edm_lpips": "OVG + EDM has the best perceptual quality on edges",
    "pareto_expands": "Sweeping OVG's step sizes pushes the front out",
    "backbone": "Collapse is not a convolutional artefact (U-Net and DiT)",
    "space": "Collapse is not a VAE artefact (pixel and latent space)",
    "scale_x32": "At the sparsest input, DDIM keeps PSNR and loses texture",
    "scale_monotone": "Collapse grows as the input gets sparser",
    "x0_cure": "x0-prediction improves texture and decorrelation",
    "x0_structure": "x0-prediction rarely improves structure",
}
