"""Re-exports ``studies.tables`` under its former import path, for modules not yet importing it from there."""
from ..studies.tables import *  # noqa: F401,F403
from ..studies.tables import __all__  # noqa: F401
