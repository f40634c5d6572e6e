"""A `getUpdates` body read once: the updates, parsed, and each one's JSON text as Telegram sent it.

The inbox stores every polled update as sent, and PTB needs them parsed. Parsing the body and
then writing each update out again as JSON cost half as much again as the parse. Telegram's
body is `{"ok":true,"result":[...]}`: here each update of the list is parsed on its own
(`json.JSONDecoder.raw_decode`), which gives its text as a slice of the body. A body laid out
otherwise (another key, another order) is parsed whole and each update written out again.
"""

from __future__ import annotations

import json
import re
from typing import Any

_HEAD = re.compile(r'\s*\{\s*"ok"\s*:\s*true\s*,\s*"result"\s*:\s*\[\s*')
_NEXT = re.compile(r"\s*([,\]])\s*")
_TAIL = re.compile(r"\s*\}\s*")
_DECODER = json.JSONDecoder()
Item = tuple[Any, str]  # a parsed update and its text


def read_poll(body: bytes) -> tuple[dict[str, Any], list[str]]:
    """The parsed body and the JSON text of each update in its `result`, in order.

    Raises as `json.loads(body)["result"]` would on a body that is not JSON or has no result.
    """
    text = body.decode()
    items = _sliced(text)
    if items is None:
        parsed: dict[str, Any] = json.loads(text)
        return parsed, [json.dumps(item) for item in parsed["result"]]
    return {"ok": True, "result": [item for item, _ in items]}, [raw for _, raw in items]


def _sliced(text: str) -> list[Item] | None:
    """Each update of Telegram's usual body with its text; None for any other layout."""
    head = _HEAD.match(text)
    if head is None:
        return None
    items: list[Item] = []
    end = head.end()
    if text.startswith("]", end):
        end += 1
    else:
        while True:
            start = end
            try:
                item, end = _DECODER.raw_decode(text, start)
            except ValueError:
                return None
            items.append((item, text[start:end]))
            separator = _NEXT.match(text, end)
            if separator is None:
                return None
            end = separator.end()
            if separator.group(1) == "]":
                break
    return items if _TAIL.fullmatch(text, end) else None
