"""Tolerant JSON reading, schema validation and the response_format each JSON mode sends."""
from __future__ import annotations

import pytest

from reasonir.llm.jsonout import parse_json, read_structured, response_format, validation_error

SCHEMA = {"type": "object", "properties": {"query": {"type": "string"}, "score": {"type": "integer"}},
          "required": ["query"]}


@pytest.mark.parametrize("text, expected", [
    ('{"query": "a"}', {"query": "a"}),
    ('```json\n{"query": "a"}\n```', {"query": "a"}),
    ('```\n[1, 2]\n```', [1, 2]),
    ('Here you go: {"query": "a", "score": 3} -- enjoy', {"query": "a", "score": 3}),
    ('{"query": "a", "list": [1, 2,],}', {"query": "a", "list": [1, 2]}),
    ('noise { not json } then {"query": "b"}', {"query": "b"}),
])
def test_parse_json_tolerates_fences_prose_and_trailing_commas(text: str, expected: object) -> None:
    assert parse_json(text) == expected


@pytest.mark.parametrize("text", ["", "no json here", '{"query": "unterminated'])
def test_parse_json_raises_value_error_without_json(text: str) -> None:
    with pytest.raises(ValueError, match="no JSON value"):
        parse_json(text)


def test_validation_names_the_failing_path() -> None:
    assert validation_error({"query": "x", "score": 2}, SCHEMA) is None
    assert validation_error({"score": 2}, SCHEMA) == "schema: at $: 'query' is a required property"
    assert "$.score" in (validation_error({"query": "x", "score": "high"}, SCHEMA) or "")


def test_read_structured_never_raises() -> None:
    assert read_structured('{"query": "x"}', SCHEMA) == ({"query": "x"}, None)
    value, error = read_structured("I cannot do that.", SCHEMA)
    assert value is None and error is not None and error.startswith("invalid JSON")
    value, error = read_structured('{"score": 1}', SCHEMA)
    assert value is None and error is not None and error.startswith("schema:")


def test_response_format_per_mode() -> None:
    assert response_format(None, "auto") is None
    assert response_format(SCHEMA, "none") is None
    assert response_format(SCHEMA, "auto")["json_schema"]["schema"] == SCHEMA  # type: ignore[index]
    assert response_format(SCHEMA, "json_object_schema") == {"type": "json_object", "schema": SCHEMA}
    assert response_format(SCHEMA, "json_object") == {"type": "json_object"}
