"""Operator mistakes in flow files: a problem names the file, line and step, and says what is wrong.

`FlowError` carries every problem found in one load, so an operator fixes them in one pass.
`SourceMap` maps a path inside the YAML document (keys and list indexes) to its line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

PathPart = str | int


class SourceMap(Protocol):
    """Line numbers of a parsed flow file."""

    def line(self, path: tuple[PathPart, ...]) -> int:
        """The 1-based line of `path`, or of its nearest located ancestor."""
        ...


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a flow file."""

    file: str
    line: int
    message: str
    step: str | None = None

    def __str__(self) -> str:
        where = f" (step {self.step})" if self.step else ""
        return f"{self.file}:{self.line}: {self.message}{where}"


class FlowError(Exception):
    """A flow file that cannot be used; `problems` lists everything wrong with it."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))
