#!/usr/bin/env bash
# Runs benchmarks/sweep_finetune_scifact.py on the lent GPU machine (see the device tool's README): the machine has
# torch, transformers and sentence-transformers but not reasonir's other needs, no network and a 64 MiB transfer
# limit, so .gpu/ (ignored by git) carries wheels, all-MiniLM-L6-v2 in fp16 (restored to fp32 here: the weights
# differ from the packaged ones by fp16 rounding, so the base row is measured on these same weights), SciFact
# gzipped, the rows and the grid. Prepare .gpu/ with benchmarks/gpu/prepare.sh.
set -euo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .gpu/whl/*.whl
export PYTHONPATH=/tmp/site:$PWD/src:$PWD/benchmarks HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
mkdir -p /tmp/scifact
gunzip -c .gpu/scifact/corpus.jsonl.gz > /tmp/scifact/corpus.jsonl
cp -r .gpu/scifact/queries.jsonl .gpu/scifact/qrels /tmp/scifact/
python3 - <<'PY'
import shutil
import torch
from safetensors.torch import load_file, save_file
shutil.copytree(".gpu/minilm", "/tmp/minilm", dirs_exist_ok=True)
state = load_file("/tmp/minilm/model.safetensors")
save_file({k: v.float() for k, v in state.items()}, "/tmp/minilm/model.safetensors", metadata={"format": "pt"})
print("torch", torch.__version__, torch.cuda.get_device_name())
PY
python3 benchmarks/sweep_finetune_scifact.py --data .gpu/rows/*.jsonl --base /tmp/minilm --scifact /tmp/scifact \
    --grid .gpu/grid.json --out "${OUT:-/tmp}/sweep.json" 2>&1 | grep -vE "Loading weights|Writing model|widget|Warning|warn" || true
