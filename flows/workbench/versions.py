"""A flow file's version number, raised in place (`intake-bot flows bump`).

Only the top-level `version:` line changes; comments, order and quoting stay as the operator
wrote them. A changed flow needs a new number: the stored copy of a version is the record of
what every intake on it was asked, and is never replaced.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_VERSION = re.compile(r"^(version\s*:\s*)(\d+)(\s*(?:#.*)?)$", re.MULTILINE)


@dataclass(frozen=True)
class Bump:
    """The file's text with its new version, and both numbers."""

    text: str
    old: int
    new: int
    line: int


def bump_version(text: str, to: int | None = None) -> Bump | None:
    """`text` with its top-level `version: N` set to `to` (default N + 1); None without one."""
    found = _VERSION.search(text)
    if found is None:
        return None
    old = int(found[2])
    new = old + 1 if to is None else to
    start, end = found.span(2)
    line = text.count("\n", 0, start) + 1
    return Bump(text[:start] + str(new) + text[end:], old, new, line)
