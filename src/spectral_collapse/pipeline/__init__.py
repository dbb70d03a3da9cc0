"""Orchestration: the cell cache, running a study into its results file, executing notebooks, the generated pages."""
