"""Re-exports ``studies.stored_gates`` under its former import path."""
from ..studies.stored_gates import *  # noqa: F401,F403
from ..studies.stored_gates import __all__  # noqa: F401
