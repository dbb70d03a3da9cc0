"""Datasets as unpaired domains (label 0 source, 1 target) with a paired test split; see unpaired.py.

Bundled (offline): ``ihc-sr``, ``ihc-edges``; downloadable: ``bbbc021``, ``edges2shoes``; a user's folders:
``load_dataset("folder:<path>", ...)``.
"""
from . import bundled  # noqa: F401  (registers ihc-sr, ihc-edges)
from .bbbc021 import load_bbbc021
from .degrade import edge_map, nearest_downup
from .download import download_dataset, prepare_dataset
from .edges2shoes import load_edges2shoes
from .folder import load_folder
from .unpaired import (DATASETS, TASK_KINDS, Task, UnpairedDomains, check_dataset, dataset_key, dihedral, load_dataset,
                       register_dataset, split_dataset)

register_dataset("bbbc021", load_bbbc021)  # real datasets: downloaded and prepared once, loaded offline
register_dataset("edges2shoes", load_edges2shoes)
register_dataset("folder", load_folder)
__all__ = ["DATASETS", "TASK_KINDS", "Task", "UnpairedDomains", "check_dataset", "dataset_key", "dihedral",
           "download_dataset", "edge_map", "load_bbbc021", "load_dataset", "load_edges2shoes", "load_folder",
           "nearest_downup", "prepare_dataset", "register_dataset", "split_dataset"]
