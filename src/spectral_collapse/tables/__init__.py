"""The tables and quoted values of the chapters, from stored results and the claims. No study imports them."""
