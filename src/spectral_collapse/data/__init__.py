"""Datasets as unpaired domains (label 0 source, 1 target) with a paired test split; see unpaired.py.

``DATASETS`` maps a name to a builder ``fn(*, size, factor, **kw) -> UnpairedDomains``; modules add theirs with
``register_dataset`` when imported here. Bundled (offline): ``ihc-sr``, ``ihc-edges``.
"""
from .degrade import edge_map, nearest_downup
from .unpaired import DATASETS, UnpairedDomains, dihedral, load_dataset, register_dataset
from . import bundled  # noqa: F401  (registers ihc-sr, ihc-edges)

__all__ = ["DATASETS", "UnpairedDomains", "dihedral", "edge_map", "load_dataset", "nearest_downup",
           "register_dataset"]
