PY := .venv/bin/python
SCIFACT ?= ../shared/data/scifact

.PHONY: install test demo
install: .venv/.installed
.venv/.installed: pyproject.toml
	python3 -m venv .venv
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[test]"
	touch $@

test: install
	$(PY) -m pytest -q --doctest-modules src tests

demo: install
	.venv/bin/reasonir eval --dataset $(SCIFACT) --retriever bm25
