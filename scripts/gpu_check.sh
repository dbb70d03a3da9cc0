#!/usr/bin/env bash
# The device check, in one run of under 8 minutes on a GPU: training model-steps per second of K = 1, 8 and 16 models
# in lockstep and the inversion loop's network evaluations per second, eager and with CUDA graphs
# (python -m benchmarks.gpu_check), then the reference measurement shared/gpu-ceiling.py when the checkout holds it.
#
#   scripts/gpu_check.sh [RECORD_FOLDER]     # from the repository root; records go to RECORD_FOLDER (default $OUT, /tmp)
#
# Wheels in .whl/ (packages the GPU machine lacks) are installed into /tmp/site first. PYTHON picks the interpreter
# (default: .venv/bin/python if there, else python3).
set -u
out=${1:-${OUT:-/tmp}}
mkdir -p "$out"
py=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
if ls .whl/*.whl >/dev/null 2>&1; then
  "$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONPATH=$PWD/src:$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"
timeout 300 "$py" -m benchmarks.gpu_check --seconds 8 --out "$out/gpu_check.json" || echo "gpu_check: stopped (exit $?)"
if [ -f shared/gpu-ceiling.py ]; then
  OUT="$out" T_SECONDS=3 timeout 170 "$py" shared/gpu-ceiling.py eager graph streams16 inversion ovg_graph \
    || echo "gpu-ceiling: stopped (exit $?)"
else
  echo "gpu-ceiling: skipped (no shared/gpu-ceiling.py in this checkout; copy /work/shared/reference/gpu-ceiling.py there)"
fi
