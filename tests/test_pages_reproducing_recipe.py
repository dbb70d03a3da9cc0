"""The reproducing page's account of Table 7 matches the paper profile's own training settings."""
from pathlib import Path

from spectral_collapse.framework.profiles import _TABLE7

TEXT = " ".join((Path(__file__).resolve().parents[1] / "book" / "reproducing.md").read_text().split())


def _n(k: int) -> str:
    return f"{k:,}"


def test_recipe_prose_matches_table7():
    eps, edm = _TABLE7["eps"], _TABLE7["edm"]
    main = eps["bbbc021"]
    assert f"latent-space U-Nets of the main results {_n(main['steps'])} steps of batch {main['batch_size']}" in TEXT
    dit = eps["bbbc021-dit"]
    assert f"DiT of the backbone ablation {_n(dit['steps'])} steps of batch {dit['batch_size']}" in TEXT
    pix = eps["bbbc021-pixel"]
    assert f"space ablation batches of {pix['batch_size']}" in TEXT and edm["bbbc021-pixel"]["batch_size"] == pix["batch_size"]
    assert f"the EDM one {_n(edm['bbbc021-pixel']['steps'])} steps" in TEXT
    assert "each model 80,000 steps" not in TEXT


def test_every_latent_unet_shares_the_main_recipe():
    """The page states one recipe for the main results' latent U-Nets; it holds only if they all share it."""
    for arm in ("eps", "edm"):
        for ds in ("bbbc021", "edges2shoes"):
            row = _TABLE7[arm][ds]
            main = _TABLE7["eps"]["bbbc021"]
            assert all(row[k] == main[k] for k in ("steps", "batch_size", "lr", "ema_decay")), (arm, ds)
    assert f"EMA {_TABLE7['eps']['bbbc021']['ema_decay']}" in TEXT
