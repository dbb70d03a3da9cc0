"""Guidance terms: drifts added after a method's base step (paper Eq. 14), on the steps their schedule selects."""
from .ovg import OVG, StableOVG, orthogonal_drifts, ovg_gradients
from .schedule import EVERY_STEP, GuidanceSchedule

__all__ = ["OVG", "StableOVG", "GuidanceSchedule", "EVERY_STEP", "orthogonal_drifts", "ovg_gradients"]
