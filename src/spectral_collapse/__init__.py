"""spectral_collapse: reference suite for spectral collapse in diffusion inversion and Orthogonal Variance Guidance.

Paper: Bourriez, Verine, Genovesio, "Spectral Collapse in Diffusion Inversion" (OVG). See the book for the studies.
"""
__version__ = "0.1.0"
