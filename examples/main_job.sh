#!/usr/bin/env bash
# The main job on the embedded default (no download, a few minutes on 2 cores):
#   1. evaluate VGG16 on a hand-written ZC706 accelerator with the cost model
#   2. co-search a network and its ZC706 accelerator (dna search, embedded default:
#      FBNet supernet on the bundled digits + DAS) -> out/best.json
#   3. generate the Vivado HLS project of the searched design (dna-hwgen emit)
#   4. C-simulate it with g++, bit for bit against the PyTorch integer reference (csim),
#      with our compatibility header and with Xilinx's ap_int/hls_stream headers, and
#      print its resource estimate (report)
#   5. search a 64-PE ASIC accelerator for the searched network (dna das on out/best.json;
#      multi-cycle: one engine, so one Verilator build (about 4 minutes); a pipeline design builds an
#      engine per chunk), generate its Verilog and simulate it (cocotb + Verilator): every
#      node output bit-exact, every op's cycles next to the cost model's
set -euo pipefail
cd "$(dirname "$0")/.."
bin=""
[ -x .venv/bin/dna ] && bin=.venv/bin/
"${bin}dna" evaluate --network vgg16 --accelerator examples/accelerators/vgg16_zc706.yaml \
  --target zc706 --precision 16
echo
"${bin}dna" search --out out --seed 0
echo
"${bin}dna-hwgen" emit --design out/best.json --target zc706 --out build/zc706
"${bin}dna-hwgen" csim build/zc706
"${bin}dna-hwgen" csim --vendor-types build/zc706
"${bin}dna-hwgen" report build/zc706
echo
"${bin}dna" das --network out/best.json --target asic45 --precision 8 --max-pes 64 --seed 0 \
  --style multicycle --quiet --out out/asic.json
"${bin}dna-hwgen" emit --design out/asic.json --target asic45 --out build/asic
"${bin}dna-hwgen" sim build/asic
