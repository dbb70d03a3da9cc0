"""``python -m spectral_collapse ...``: the command line of ``spectral_collapse.cli``."""
import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
