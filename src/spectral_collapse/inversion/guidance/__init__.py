"""Guidance terms: drifts added after a method's base step (paper Eq. 14)."""
from .ovg import OVG, orthogonal_drifts, ovg_gradients

__all__ = ["OVG", "orthogonal_drifts", "ovg_gradients"]
