"""Cells shared by the study notebooks."""

SETUP = '''
import warnings
warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm in a kernel without widgets
from IPython.display import Markdown, display
import altair as alt
import numpy as np
from spectral_collapse.studies.notebook import setup_notebook, coerce_list, coerce_str
from spectral_collapse.plotting.charts import image_grid, metric_bars
root = setup_notebook()
dataset = coerce_str(dataset, "dataset")
profile = coerce_str(profile, "profile")
seeds = coerce_list(seeds, int, "seeds")
methods = coerce_list(methods, str, "methods")
'''
