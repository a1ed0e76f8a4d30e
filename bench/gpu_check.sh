#!/usr/bin/env bash
# What issues 8 and 9 leave to a CUDA machine, in one run of about five minutes on the device machine:
# every DSP test on CuPy, the CUDA engine tests, `bench.dsp --backend cupy` and `bench.separation` on the GPU
# (against demucs, four jobs batched).
#
#   here:   bash bench/gpu_wheels.sh
#   device: run(command="bash bench/gpu_check.sh", carry=[".whl"], timeout_s=600)
#
# Each step has its own time limit, so one that hangs still leaves the others their turn. Logs go to $OUT
# (which the device tool brings back) or to /tmp/sfa-gpu.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/sfa-gpu}
mkdir -p "$out"
if compgen -G ".whl/*.whl" > /dev/null; then
    python3 -m pip install --quiet --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl || exit 1
    export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1

step() {
    local name=$1 limit=$2
    shift 2
    echo "== $name"
    timeout "$limit" "$@" 2>&1 | tee "$out/$name.log"
    echo "== $name: exit ${PIPESTATUS[0]}"
}

step gpu 30 python3 -c "import runpy, torch, torchaudio, cupy
print('torch', torch.__version__, 'torchaudio', torchaudio.__version__, 'cupy', cupy.__version__)
gpu_devices = runpy.run_path('sfa/actors/devices.py')['gpu_devices']
print(torch.cuda.get_device_name(), '- GPU worker devices:', gpu_devices(), '- torch sees', torch.cuda.device_count())"
step dsp-tests 150 python3 -m pytest -q -p no:cacheprovider -rs --confcutdir=tests/dsp tests/dsp -k cupy
step cuda-tests 60 python3 -m pytest -q -p no:cacheprovider -rs --confcutdir=tests/separation \
    tests/separation/test_cuda.py
step bench-dsp 150 python3 -m bench.dsp --backend cupy --repeat 3
step bench-separation 240 python3 -m bench.separation --device cuda --jobs 4 --turns 1
