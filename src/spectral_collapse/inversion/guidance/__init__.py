"""Guidance terms: drifts added after a method's base step (paper Eq. 14), on the steps their schedule selects."""
from .ovg import EVERY_STEP, OVG, GuidanceSchedule, StableOVG, orthogonal_drifts, ovg_gradients

__all__ = ["OVG", "StableOVG", "GuidanceSchedule", "EVERY_STEP", "orthogonal_drifts", "ovg_gradients"]
