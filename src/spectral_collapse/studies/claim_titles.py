"""Each claim's heading on the claims page (``studies.claims``): what the claim says, in words.

S_LF scores an output's low frequencies against the input condition (App. B.5): the headings say "the input's
structure" (``INPUT_STRUCTURE``) where the paper says "structure".
"""

INPUT_STRUCTURE = "the input's structure"   # what S_LF measures, as the headings and verdicts name it

CLAIM_TITLES = {
    "collapse_sdc": "Standard inversion leaves correlated latents",
    "collapse_shf": "Standard inversion loses high frequencies",
    "table1": "Stochastic inversions beat deterministic ones on texture (Table 1)",
    "pca_collapse": "Inverted latents need fewer principal components, fewer as inputs get sparser",
    "corr_hf_dc": "Texture and decorrelation go together",
    "corr_dc_g": "Decorrelation and Gaussianity go together",
    "tradeoff_lf_dc": f"Decorrelated latents keep less of {INPUT_STRUCTURE}",
    "edm_tradeoff": f"EDM restores texture and keeps less of {INPUT_STRUCTURE}",
    "ovg_vs_ddim": "OVG removes the collapse of standard inversion",
    "ovg_texture": "OVG restores realistic texture (luma, chroma, KID)",
    "ovg_taba_texture": "OVG + TABA restores texture better than TABA",
    "taba_structure": f"TABA pays for texture with {INPUT_STRUCTURE}",
    "ovg_front": f"An OVG variant is on the front of texture and {INPUT_STRUCTURE}",
    "ovg_edm_lpips": "OVG + EDM has the best perceptual quality on edges",
    "pareto_expands": "Sweeping OVG's step sizes pushes the front out",
    "backbone": "Collapse is not a convolutional artefact (U-Net and DiT)",
    "space": "Collapse is not a VAE artefact (pixel and latent space)",
    "scale_x32": "At the sparsest input, DDIM keeps PSNR and loses texture",
    "scale_monotone": "Collapse grows as the input gets sparser",
    "x0_cure": "x0-prediction improves texture and decorrelation",
    "x0_structure": f"x0-prediction rarely improves fidelity or {INPUT_STRUCTURE}",
}
