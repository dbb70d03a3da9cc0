"""Offline-safe charts (Altair, SVG by default) and PIL image grids for the study notebooks and the book."""
from .charts import metric_bars, metric_heatmap, to_frame
from .grids import compose_grid, image_grid
from .render import setup_altair, vega_versions, write_vega_bundle

__all__ = [
    "setup_altair", "vega_versions", "write_vega_bundle",
    "to_frame", "metric_bars", "metric_heatmap", "compose_grid", "image_grid",
]
