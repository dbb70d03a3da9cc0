"""Registry of inversion methods: name -> frozen dataclass with a ``step`` rule."""
from __future__ import annotations

from .ddim import Euler
from .edm import Heun
from .taba import TABA

METHODS = {
    "ddim": Euler,  # DDIM inversion on a VP model (= Euler in sigma coordinates)
    "euler": Euler,
    "edm": Euler,  # the released code's EDM inversion: Euler on the Karras grid of an EDM model
    "heun": Heun,  # EDM's second-order sampler
    "taba": TABA,
}


def get_method(name: str, **params):
    """Build a registered method by name with its keyword hyperparameters; lists the valid names on error."""
    try:
        cls = METHODS[name]
    except KeyError:
        raise ValueError(f"unknown inversion method {name!r}; valid methods: {', '.join(sorted(METHODS))}") from None
    return cls(**params)


__all__ = ["Euler", "Heun", "TABA", "METHODS", "get_method"]
