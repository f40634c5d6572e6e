"""Reading a `getUpdates` body once: the updates parsed, and each one's text as Telegram sent it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.telegram.poll import read_poll

TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)
UPDATE = st.builds(
    lambda update_id, rest: {"update_id": update_id, **rest},
    st.integers(0, 2**40),
    st.dictionaries(TEXT, JSON, max_size=3),
)
LAYOUTS = [
    {},  # json.dumps's own: ", " and ": "
    {"separators": (",", ":")},  # Telegram's: no spaces
    {"indent": 2},
    {"ensure_ascii": False},
]


@given(st.lists(UPDATE, max_size=5), st.sampled_from(LAYOUTS))
def test_each_update_is_parsed_with_its_own_text(updates: list[Any], layout: Any) -> None:
    """Whatever the spacing, the body parses as json.loads parses it, each text to its update."""
    body = json.dumps({"ok": True, "result": updates}, **layout).encode()
    parsed, texts = read_poll(body)
    assert parsed == json.loads(body)
    assert [json.loads(text) for text in texts] == updates
    assert all(text in body.decode() for text in texts)  # as sent, not written again


def test_another_layout_is_parsed_whole() -> None:
    """A key before the result, or after it: the same result, each update written out."""
    updates = [{"update_id": 1, "message": {"text": "a, ] }"}}]
    for body in (
        {"result": updates, "ok": True},
        {"ok": True, "result": updates, "extra": 1},
    ):
        parsed, texts = read_poll(json.dumps(body).encode())
        assert parsed == body
        assert [json.loads(text) for text in texts] == updates


@pytest.mark.parametrize(
    "body",
    [b"", b"not json", b'{"ok": true, "result": [{"update_id": 1},', b'{"ok": false}'],
)
def test_a_broken_body_raises_as_json_loads_would(body: bytes) -> None:
    """Not JSON, cut short, or without a result: an error the inbox already handles."""
    with pytest.raises((ValueError, KeyError)):
        read_poll(body)
