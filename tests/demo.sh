#!/bin/sh
# make demo: AlexNet (batch 1, 224x224) under nnspy, on the GPU when one is there,
# otherwise on the simulated device, saying which.
set -eu
B=${B:-build}
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    echo "demo: running on the GPU ($(nvidia-smi -L | head -n 1))"
    exec "$B/nnspy" run -- "$B/examples/alexnet" --batch 1 --size 224
fi
echo "demo: no GPU here: running on nnspy's simulated device (counts are exact, no math is done)"
exec "$B/nnspy" run --sim -- "$B/examples/alexnet" --batch 1 --size 224
