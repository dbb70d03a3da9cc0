"""Orchestration: the one cell cache, running a study into its results file, executing study notebooks, the
book's generated pages. Research code lives in ``studies``; nothing there imports this package."""
