"""Registry of inversion methods: name -> frozen dataclass with a ``step`` rule."""
from __future__ import annotations

from .ddim import TABA, Euler, Heun
from .edict import BDIA, EDICT
from .fill import Fill
from .null_class import DirectInversion, NullClass
from .renoise import ReNoise

METHODS = {
    "ddim": Euler,  # DDIM inversion on a VP model (= Euler in sigma coordinates)
    "euler": Euler,
    "edm": Euler,  # the released code's EDM inversion: Euler on the Karras grid of an EDM model
    "heun": Heun,  # EDM's second-order sampler
    "taba": TABA,
    "null_class": NullClass,  # null-text inversion with the null class (Mokady et al. 2023)
    "direct_inversion": DirectInversion,  # PnP Inversion (Ju et al. 2024)
    "renoise": ReNoise,  # ReNoise (Garibi et al. 2024)
    "edict": EDICT,  # exact inversion, coupled pair (Wallace et al. 2023)
    "bdia": BDIA,  # exact inversion, bidirectional DDIM (Zhang et al. 2024)
    "fill": Fill,  # the base inversion, then the latent's off-support component drawn fresh (needs a projector)
}


def get_method(name: str, **params):
    """Build a registered method by name with its keyword hyperparameters; lists the valid names on error."""
    try:
        cls = METHODS[name]
    except KeyError:
        raise ValueError(f"unknown inversion method {name!r}; valid methods: {', '.join(sorted(METHODS))}") from None
    return cls(**params)


__all__ = ["Euler", "Heun", "TABA", "NullClass", "DirectInversion", "ReNoise", "EDICT", "BDIA", "Fill",
           "METHODS", "get_method"]
