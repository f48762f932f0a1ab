"""Shared test fixtures: where the real data lives, and the opt-in ``slow`` marker (``make test-slow``)."""
from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SCIFACT = SHARED_DATA / "scifact"
BRIGHT_EXAMPLES = SHARED_DATA / "bright_examples"
MMLU = SHARED_DATA / "mmlu"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--runslow", action="store_true", help="also run tests marked slow (minutes each)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: takes minutes; run with --runslow (make test-slow)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def shared_encoder_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """ONNX exports and ``auto`` backend verdicts (reasonir/models/auto.py) kept for the whole session: tests that
    point $REASONIR_CACHE at a folder of their own would otherwise each export and probe again (tens of seconds
    each). A module that tests those caches themselves overrides this fixture with one that does nothing."""
    root = tmp_path_factory.getbasetemp() / "encoders"
    monkeypatch.setattr("reasonir.models.backends.encoder_cache_dir", lambda: root)
    return root


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
