"""What every validator check works from: the flow, its line map and file, and how to report.

A check is a function `(Context) -> Iterator[Problem]`; it reports through `Context.problem`,
which turns a YAML path into the line of its most specific key and names the step the path
lies in.
"""

from __future__ import annotations

from dataclasses import dataclass

from flows.engine.format.model import Flow
from flows.engine.format.problems import PathPart, Problem, SourceMap

YamlPath = tuple[PathPart, ...]


@dataclass(frozen=True)
class Context:
    """A flow under validation, with where its parts are written."""

    flow: Flow
    source_map: SourceMap
    file: str

    def problem(self, path: YamlPath, message: str) -> Problem:
        """A problem at the line of `path`, naming its step when the path is in `steps`."""
        step = str(path[1]) if len(path) > 1 and path[0] == "steps" else None
        return Problem(self.file, self.source_map.line(path), message, step)


def dotted(path: YamlPath) -> str:
    """A path as the YAML spells it: `steps.age.answer.min`, `red_flags.0.when`."""
    return ".".join(str(part) for part in path)
