"""The rule that turns numbers into a verdict, written once: verdict words and folding (``words``), the fraction of a
gap closed and its effect words (``effect``), the bootstrap over training seeds (``seeds``) and the rules' texts."""
