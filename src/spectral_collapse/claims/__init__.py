"""The paper's claims, decided from stored results: each claim's check, the comparisons and shares it reads,
the scorecard against the paper's tables and the tally. Never runs a study."""
