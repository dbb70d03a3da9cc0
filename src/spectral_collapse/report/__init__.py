"""What a chapter says about its results: tables and verdict prose computed from a study's ``xr.Dataset``.

One module per area: ``tables`` (summary tables and the paper comparison), ``main_results`` (the collapse verdict),
``reproducing`` (the paper-scale compute estimate).
"""
