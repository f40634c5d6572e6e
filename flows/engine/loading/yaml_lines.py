"""YAML text to plain data plus a line map, for the flow loader.

ruamel.yaml's round-trip loader keeps the line of every key and list item; `parse_yaml`
copies the document into plain dicts, lists and scalars (never constructing Python objects
from tags) and records the 1-based line of every path in a `LineMap`, the loader's
`SourceMap`. Syntax errors, tags and values that are not plain data become problems.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.scalarbool import ScalarBoolean

from flows.engine.format.problems import PathPart, Problem

Path = tuple[PathPart, ...]

_PLAIN_TAGS = {None, "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:str"}


@dataclass
class LineMap:
    """Line numbers of a parsed YAML document, by path (keys and list indexes)."""

    lines: dict[Path, int] = field(default_factory=dict)

    def line(self, path: tuple[PathPart, ...]) -> int:
        """The 1-based line of `path`, or of its nearest located ancestor."""
        for end in range(len(path), 0, -1):
            found = self.lines.get(path[:end])
            if found is not None:
                return found
        return 1


@dataclass
class ParsedYaml:
    """The plain data of a YAML document, its lines, and what could not be read."""

    data: Any
    lines: LineMap
    problems: list[Problem]


def parse_yaml(text: str, *, file: str) -> ParsedYaml:
    """Parse `text` into plain data and a line map; syntax errors become problems."""
    lines = LineMap()
    try:
        document = YAML(typ="rt", pure=True).load(text)
    except MarkedYAMLError as error:
        return ParsedYaml(None, lines, [_syntax_problem(error, file)])
    except YAMLError as error:
        return ParsedYaml(None, lines, [Problem(file, 1, f"YAML error: {error}")])
    except Exception as error:  # ruamel fails with plain errors on some keys (e.g. `? {a: 1}`)
        message = f"YAML: this document cannot be read ({type(error).__name__}); check for keys "
        message += "that are themselves mappings or lists"
        return ParsedYaml(None, lines, [Problem(file, 1, message)])
    problems: list[Problem] = []
    data = _Copier(file, lines, problems).copy(document, ())
    return ParsedYaml(data, lines, problems)


def _syntax_problem(error: MarkedYAMLError, file: str) -> Problem:
    mark = error.problem_mark or error.context_mark
    line = mark.line + 1 if mark is not None else 1
    what = error.problem or error.context or "not valid YAML"
    return Problem(file, line, f"YAML syntax: {what}")


@dataclass
class _Copier:
    """Copies a round-trip document into plain data, recording lines on the way."""

    file: str
    lines: LineMap
    problems: list[Problem]
    active: set[int] = field(default_factory=set)

    def copy(self, node: Any, path: Path) -> Any:
        """The plain form of `node`, found at `path`."""
        if isinstance(node, CommentedMap | CommentedSeq):
            return self._collection(node, path)
        if node is None or type(node) in (str, int, float, bool):
            return node
        return self._scalar(node, path)

    def _collection(self, node: CommentedMap | CommentedSeq, path: Path) -> Any:
        if not self._plain_tag(node, path):
            return None
        if id(node) in self.active:
            self._reject(path, "an alias refers to itself")
            return None
        self.active.add(id(node))
        try:
            if isinstance(node, CommentedMap):
                return self._mapping(node, path)
            return self._sequence(node, path)
        finally:
            self.active.discard(id(node))

    def _mapping(self, node: CommentedMap, path: Path) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        for key, value in node.items():
            plain_key = self._key(key)
            child = (*path, plain_key)
            self.lines.lines[child] = node.lc.key(key)[0] + 1
            out[plain_key] = self.copy(value, child)
        return out

    def _sequence(self, node: CommentedSeq, path: Path) -> list[Any]:
        out: list[Any] = []
        for index, value in enumerate(node):
            child = (*path, index)
            self.lines.lines[child] = node.lc.item(index)[0] + 1
            out.append(self.copy(value, child))
        return out

    @staticmethod
    def _key(key: Any) -> PathPart:
        if isinstance(key, bool):
            return str(key).lower()
        return key if isinstance(key, int) else str(key)

    def _plain_tag(self, node: CommentedMap | CommentedSeq | TaggedScalar, path: Path) -> bool:
        tag = node.tag.value if node.tag is not None else None
        if tag in _PLAIN_TAGS:
            return True
        shown = str(tag).replace("tag:yaml.org,2002:", "!!")
        self._reject(path, f"YAML tag '{shown}' is not allowed; flow files are plain data")
        return False

    def _scalar(self, node: Any, path: Path) -> Any:
        # ruamel keeps anchors and styles in subclasses of the plain types; bool first,
        # because its boolean type subclasses int.
        if isinstance(node, TaggedScalar):
            return str(node.value) if self._plain_tag(node, path) else None
        if isinstance(node, ScalarBoolean):
            return bool(node)
        for plain in (str, int, float):
            if isinstance(node, plain):
                return plain(node)
        what = type(node).__name__
        self._reject(path, f"a {what} value is not allowed here; quote it to make it text")
        return None

    def _reject(self, path: Path, message: str) -> None:
        self.problems.append(Problem(self.file, self.lines.line(path), message))
