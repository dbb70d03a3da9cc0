"""Where along the trajectory a guidance term acts: every step (the paper), a sigma window, every k-th step, or the
first / last fraction of the steps. An unguided step takes the loop's cheap path (no graph, no vector-Jacobian
product); the full schedule is the paper's OVG and an empty one the base method, bit for bit (tested)."""
from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["GuidanceSchedule", "EVERY_STEP"]


@dataclass(frozen=True)
class GuidanceSchedule:
    """Steps i = 0 .. n-1 of an integration (from sigma to sigma_next) that are guided: all of the conditions hold."""

    sigma_min: float = 0.0              # guide only where sigma_min <= sigma (the step's starting level) ...
    sigma_max: float = math.inf         # ... <= sigma_max
    every: int = 1                      # every k-th step, counting from the first
    fraction: float = 1.0               # the first (or last) ceil(fraction * n) steps
    part: str = "first"                 # "first" | "last": which end ``fraction`` counts from

    def __post_init__(self):
        if not (self.sigma_min >= 0 and self.sigma_max >= 0) or math.isnan(self.sigma_min + self.sigma_max):
            raise ValueError(f"sigma window must be >= 0, got [{self.sigma_min}, {self.sigma_max}]")
        if isinstance(self.every, bool) or not isinstance(self.every, int) or self.every < 1:
            raise ValueError(f"every must be an integer >= 1, got {self.every!r}")
        if not 0.0 <= self.fraction <= 1.0:
            raise ValueError(f"fraction must lie in [0, 1], got {self.fraction!r}")
        if self.part not in ("first", "last"):
            raise ValueError(f"part must be 'first' or 'last', got {self.part!r}")

    def active(self, i: int, n: int, sigma: float) -> bool:
        """Whether step ``i`` of ``n`` (starting at level ``sigma``) is guided."""
        if not self.sigma_min <= sigma <= self.sigma_max:
            return False
        if i % self.every:
            return False
        k = math.ceil(self.fraction * n)
        return i < k if self.part == "first" else i >= n - k

    def guided_steps(self, sigmas) -> list[int]:
        """The guided step indices of an integration along ``sigmas`` (n + 1 levels)."""
        n = len(sigmas) - 1
        return [i for i in range(n) if self.active(i, n, float(sigmas[i]))]


EVERY_STEP = GuidanceSchedule()
