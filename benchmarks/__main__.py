"""``python -m benchmarks``: run every benchmark (see benchmarks/run.py)."""
import sys

from .run import main

sys.exit(main())
