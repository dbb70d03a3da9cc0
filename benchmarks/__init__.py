"""Benchmark suite: cost of inversion methods, training, metrics and scaling, as ratios against
baselines timed in the same run. Run ``python -m benchmarks``; results go to benchmarks/results/."""
