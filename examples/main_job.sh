#!/usr/bin/env bash
# The main job on the embedded default: evaluate VGG16 on a hand-written ZC706 accelerator
# with the cost model, save it as a design file, and evaluate it again from that file.
set -euo pipefail
cd "$(dirname "$0")/.."
dna=dna
[ -x .venv/bin/dna ] && dna=.venv/bin/dna
mkdir -p out
"$dna" evaluate --network vgg16 --accelerator examples/accelerators/vgg16_zc706.yaml \
  --target zc706 --precision 16 --save out/vgg16_zc706.json
echo
echo "== re-read from the design file"
"$dna" evaluate --design out/vgg16_zc706.json | tail -7
