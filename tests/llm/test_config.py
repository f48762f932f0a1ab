"""Configuration layers (defaults < file < env < flags), the key kept secret, prices, CLI flags."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from reasonir.cli.llm_flags import add_llm_arguments, config_from_args
from reasonir.llm import LLMConfig, LLMConfigError, MissingKeyError
from reasonir.llm.config import default_cache_path
from reasonir.llm.prices import Price, load_prices, price_for


def test_layers_file_then_env_then_overrides(tmp_path: Path) -> None:
    cfg_file = tmp_path / "llm.toml"
    cfg_file.write_text('base_url = "http://gpu:8000/v1"\nmodel = "from-file"\nconcurrency = 4\n')
    env = {"REASONIR_LLM_MODEL": "from-env", "REASONIR_LLM_TIMEOUT_S": "7.5"}
    cfg = LLMConfig.resolve({"concurrency": 32, "model": None}, config_file=cfg_file, environ=env)
    assert (cfg.base_url, cfg.model, cfg.concurrency, cfg.timeout_s) == ("http://gpu:8000/v1", "from-env", 32, 7.5)


def test_unknown_setting_is_a_config_error(tmp_path: Path) -> None:
    cfg_file = tmp_path / "llm.toml"
    cfg_file.write_text("concurency = 4\n")
    with pytest.raises(LLMConfigError, match="concurency"):
        LLMConfig.resolve(config_file=cfg_file, environ={})


def test_key_from_env_never_in_repr_or_dict(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_KEY", "sk-secret-123")
    cfg = LLMConfig(base_url="https://api.example.com/v1", api_key_env="MY_KEY")
    assert cfg.key() == "sk-secret-123"
    file_cfg = LLMConfig(base_url="https://api.example.com/v1", api_key="sk-from-file")
    for c in (cfg, file_cfg):
        assert "sk-" not in repr(c) and "sk-" not in json.dumps(c.as_dict())


def test_missing_key_only_matters_for_remote_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_SUCH_KEY", raising=False)
    with pytest.raises(MissingKeyError, match=r"\$NO_SUCH_KEY") as info:
        LLMConfig(base_url="https://api.example.com/v1", api_key_env="NO_SUCH_KEY").key()
    assert info.value.exit_code == 3
    assert LLMConfig(base_url="http://127.0.0.1:8000/v1", api_key_env="NO_SUCH_KEY").key() is None
    assert LLMConfig(base_url="http://lan-box:11434/v1", api_key_env="none").key() is None


def test_cache_path_follows_reasonir_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("REASONIR_CACHE", str(tmp_path))
    assert default_cache_path() == tmp_path / "llm" / "responses.sqlite"
    assert LLMConfig(cache_path="").resolved_cache_path() is None


def test_user_prices_merge_over_shipped_table(tmp_path: Path) -> None:
    (tmp_path / "p.toml").write_text('[my-model]\ninput = 1.0\noutput = 3.0\n')
    table = load_prices(tmp_path / "p.toml")
    assert table["my-model"] == Price(1.0, 3.0) and "gpt-4o-mini" in table
    assert price_for(table, "gpt-4o-mini-2024-07-18") == table["gpt-4o-mini"]  # dated names find their family
    (tmp_path / "bad.json").write_text('{"m": {"input": 1}}')
    with pytest.raises(LLMConfigError, match="bad.json"):
        load_prices(tmp_path / "bad.json")


def test_cli_flags_become_config() -> None:
    parser = argparse.ArgumentParser()
    add_llm_arguments(parser)
    args = parser.parse_args(["--llm-base-url", "http://x:1/v1", "--llm-model", "m", "--llm-concurrency", "3",
                              "--llm-no-cache", "--llm-json-mode", "json_object"])
    cfg = config_from_args(args, environ={})
    assert (cfg.base_url, cfg.model, cfg.concurrency, cfg.cache_path, cfg.json_mode) == (
        "http://x:1/v1", "m", 3, "", "json_object")
