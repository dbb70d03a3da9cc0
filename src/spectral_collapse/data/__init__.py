"""Datasets as unpaired domains (label 0 source, 1 target) with a paired test split; see unpaired.py.

Bundled (offline): ``ihc-sr``, ``ihc-edges``; downloadable: ``bbbc021``, ``edges2shoes``; a user's folders:
``load_dataset("folder:<path>", ...)``.
"""
from .degrade import edge_map, nearest_downup
from .unpaired import (DATASETS, TASK_KINDS, Task, UnpairedDomains, check_dataset, dataset_key, dihedral, load_dataset,
                       register_dataset, split_dataset)
from . import bundled  # noqa: F401  (registers ihc-sr, ihc-edges)

__all__ = ["DATASETS", "TASK_KINDS", "Task", "UnpairedDomains", "check_dataset", "dataset_key", "dihedral",
           "edge_map", "load_dataset", "nearest_downup", "register_dataset", "split_dataset"]

# Real datasets (download + prepare once; loading never touches the network) and a user's own folders.
from .bbbc021 import load_bbbc021  # noqa: E402
from .edges2shoes import load_edges2shoes  # noqa: E402
from .folder import load_folder  # noqa: E402
from .download import download_dataset, prepare_dataset  # noqa: E402

register_dataset("bbbc021", load_bbbc021)
register_dataset("edges2shoes", load_edges2shoes)
register_dataset("folder", load_folder)
__all__ += ["download_dataset", "load_bbbc021", "load_edges2shoes", "load_folder", "prepare_dataset"]
