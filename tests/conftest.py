"""Shared test fixtures: where the real data lives, caches shared by the session, and the opt-in ``slow`` marker
(``make test-slow``)."""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from reasonir.paths import models_cache_dir

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SCIFACT = SHARED_DATA / "scifact"
BRIGHT_EXAMPLES = SHARED_DATA / "bright_examples"
MMLU = SHARED_DATA / "mmlu"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--runslow", action="store_true", help="also run tests marked slow (minutes each)")


# The embedded LLM engines whose tests with the real model run where `auto` runs another engine: "all" or a comma
# list (CI sets all). Each such engine first converts the packaged model for itself (ct2, transformers: 30 s cold).
TEST_ENGINES_ENV = "REASONIR_TEST_ENGINES"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: takes minutes; run with --runslow (make test-slow)")
    config.addinivalue_line("markers", f"engine(name): runs the real embedded LLM on engine `name`; skipped where "
                                       f"`auto` runs another engine, unless ${TEST_ENGINES_ENV} names it or says all")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("--runslow"):
        skip = pytest.mark.skip(reason="slow: run with --runslow")
        for item in items:
            if "slow" in item.keywords:
                item.add_marker(skip)
    wanted = {name.strip() for name in os.environ.get(TEST_ENGINES_ENV, "").split(",") if name.strip()}
    here = None
    for item in items:
        mark = item.get_closest_marker("engine")
        if mark is None or "all" in wanted or mark.args[0] in wanted:
            continue
        if here is None:
            from reasonir.llm.engines import resolve_engine

            here = resolve_engine("auto")
        if mark.args[0] != here:
            item.add_marker(pytest.mark.skip(reason=f"`auto` runs the embedded LLM on {here} here, not "
                                                    f"{mark.args[0]}: {TEST_ENGINES_ENV}=all runs it too (CI does)"))


@pytest.fixture(autouse=True)
def shared_encoder_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """ONNX exports and ``auto`` backend verdicts (reasonir/models/auto.py) kept for the whole session: tests that
    point $REASONIR_CACHE at a folder of their own would otherwise each export and probe again (tens of seconds
    each). A module that tests those caches themselves overrides this fixture with one that does nothing."""
    root = tmp_path_factory.getbasetemp() / "encoders"
    monkeypatch.setattr("reasonir.models.backends.encoder_cache_dir", lambda: root)
    return root


@pytest.fixture(scope="session", autouse=True)
def shared_llm_models() -> Iterator[Path]:
    """The embedded LLM's re-encoded weights (reasonir.paths.models_cache_dir) kept in the cache the session started
    with, before any module fixture loads the model: a test that points $REASONIR_CACHE at a folder of its own keeps
    its answers and embeddings there, and still finds the copy for each engine (the F16 GGUF alone takes 7 s to
    write). A test of those copies themselves passes its own ``root``."""
    root = models_cache_dir()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("reasonir.paths.models_cache_dir", lambda: root)
        yield root


def _llama_server_built() -> bool:
    from reasonir.llm.native import find_llama_server

    return find_llama_server() is not None


# make install builds llama-server only where `auto` runs the embedded LLM on it (CPUs without bf16 units); the tests
# of llama-server itself run where it is built (`reasonir llm build-server` builds it anywhere; CI does)
needs_llama_server = pytest.mark.skipif(not _llama_server_built(), reason="llama-server is not built here (auto runs "
                                        "the embedded LLM in process on this CPU): reasonir llm build-server")


def needs(path: Path) -> pytest.MarkDecorator:
    """Skip unless a shared data set is present (it is beside the checkout on development machines)."""
    return pytest.mark.skipif(not path.exists(), reason=f"needs {path}")
