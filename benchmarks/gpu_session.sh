#!/usr/bin/env bash
# Issue 8's GPU checks in one run on a lent GPU machine (H100/H200 image: Python 3.12,
# torch CUDA, JAX CUDA, CuPy, optax, SciPy, pytest; no network). Two steps:
#
#   benchmarks/gpu_session.sh wheels   # here, once: the pure-Python packages that image
#                                      # lacks, as Python 3.12 wheels in .whl/ (ignored)
#   benchmarks/gpu_session.sh run      # there (device tool, carry [".whl"]), writes $OUT:
#       gpu.txt            the GPU, driver and library versions
#       conformance.log    pytest conformance/ + tests/test_kernels.py on torch-cuda, cupy
#                          and JAX (on its GPU): the summary and every failure
#       <date>-gpu.md/.json/.png   python -m benchmarks.run --device cuda --targets
#       bench.log          the bench's progress and its target summary
#
# Time limits (seconds, environment): CONFORMANCE_S=180, BENCH_S=480; a bench stopped
# by its limit still writes the rows measured so far (compiled rows run last).
set -uo pipefail
cd "$(dirname "$0")/.."
# the versions are those of this checkout's .venv (what ./dev installs from pyproject.toml)
PACKAGES="array-api-compat array-api-strict monai kornia kornia_rs segmentation-models-pytorch
          dask partd locket"
case "${1:-}" in
  wheels)
    PY=${PYTHON:-.venv/bin/python}
    pins=$("$PY" -c "import sys, importlib.metadata as m
print(' '.join(f'{p}=={m.version(p)}' for p in sys.argv[1:]))" $PACKAGES) || exit 1
    exec "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
      --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
      --platform manylinux2014_x86_64 -d .whl $pins ;;
  run)
    OUT=${OUT:-/tmp/gpu-session}; mkdir -p "$OUT"
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
      --target /tmp/site .whl/*.whl || exit 1
    export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 PYTHONHASHSEED=0
    { nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
      python3 -c "import torch, jax, cupy, numpy; print('torch', torch.__version__, \
'cuda', torch.version.cuda, '| jax', jax.__version__, jax.devices(), '| cupy', \
cupy.__version__, '| numpy', numpy.__version__)"; } > "$OUT/gpu.txt" 2>&1
    cat "$OUT/gpu.txt"
    SEGLOSS_BACKENDS=torch-cuda,cupy,jax timeout -s INT -k 30 "${CONFORMANCE_S:-180}" python3 -m pytest \
      conformance tests/test_kernels.py -q -n 8 -p no:cacheprovider -r fE > "$OUT/conformance.log" 2>&1
    echo "conformance: exit $?"; tail -5 "$OUT/conformance.log"
    timeout -s INT -k 30 "${BENCH_S:-480}" python3 -m benchmarks.run --device cuda --targets \
      --out "$OUT/$(date -u +%F)-gpu.md" > "$OUT/bench.log" 2>&1
    echo "bench: exit $?"; tail -45 "$OUT/bench.log" ;;
  *) echo "usage: benchmarks/gpu_session.sh {wheels|run}" >&2; exit 2 ;;
esac
