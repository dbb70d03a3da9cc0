"""The ablation chapters' introductions do not quote, as the paper's finding, a row of its tables that the same page's
errata calls a copy of another row (the OVG row at BBBC021 ×16, U-Net, latent space) without saying so."""
import json
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def _intro(study: str) -> str:
    nb = json.loads((ROOT / "notebooks" / f"{study}.ipynb").read_text())
    return "".join(nb["cells"][0]["source"])


def test_backbone_intro_does_not_cite_the_copied_ovg_row_as_the_unet_finding():
    tables = pd.read_csv(ROOT / "src/spectral_collapse/reference/paper_tables.csv")
    row = tables[(tables["table"] == "table3") & (tables["backbone"] == "unet") & (tables["method"] == "ovg")]
    copied = {m: f"{float(row[row['metric'] == m]['mean'].iloc[0]):.2f}" for m in ("s_hf", "s_dc")}
    intro = _intro("backbone_ablation")
    cited = f"S_HF {copied['s_hf']}" in intro and f"S_DC {copied['s_dc']}" in intro
    dit = tables[(tables["table"] == "table3") & (tables["backbone"] == "dit") & (tables["method"] == "ovg")]
    same_as_dit = all(f"{float(dit[dit['metric'] == m]['mean'].iloc[0]):.2f}" == copied[m] for m in copied)
    assert "errata" in intro or not (cited and not same_as_dit)
    assert "S_HF 0.96–0.97" not in intro   # a range spanning the copied U-Net row and the DiT row
