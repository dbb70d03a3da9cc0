"""The study framework: the machinery every study uses (spec, profiles, store, cells, content keys, splits, the
models of a run, method labels, the quality gate, the oracle arm, the scoring of a translation). None of it is a study."""
