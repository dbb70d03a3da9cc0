"""Inversion and translation: one sigma-space loop, methods, guidance."""
from .guidance import OVG
from .loop import (Context, NonFiniteError, Trajectory, Translation, default_sigmas, integrate, invert, sample,
                   sample_seeds, translate)
from .methods import METHODS, TABA, Euler, Heun, get_method

__all__ = ["OVG", "Context", "NonFiniteError", "Trajectory", "Translation", "default_sigmas", "integrate", "invert",
           "sample", "sample_seeds", "translate", "METHODS", "TABA", "Euler", "Heun", "get_method"]
