"""The suite's studies: ``registry`` lists them, and each module runs one study, ``run(spec) -> xr.Dataset``."""
