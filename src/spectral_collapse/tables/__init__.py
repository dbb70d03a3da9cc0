"""The tables the chapters show, computed from stored results and the claims (numbers and short headers, no
prose). No study imports them."""
