"""Writing translations into a flow's YAML, beside the texts they translate.

The file is edited in ruamel.yaml's round-trip mode, so comments, anchors, key order and quotes
stay as the operator wrote them; the language is added to `languages` if missing. A new text
goes after the others of its mapping (`{en: "...", es: "..."}`); a one-line mapping that would
grow past `WIDTH` characters is opened up into one line per language. Lists keep the style of
the source language's list. Words YAML 1.1 tools read as booleans (`no`) and numbers are quoted.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, LiteralScalarString

from flows.engine.format.problems import Problem
from flows.engine.translation.catalog import Entry, Kind
from flows.engine.validation.context import YamlPath

WIDTH = 100  # the widest line a one-line mapping may grow to
_BOOLEAN_LIKE = frozenset({"y", "yes", "n", "no", "true", "false", "on", "off", "null"})
_NOT_PLAIN = re.compile(r"^([-+]?[\d.]+|~|[-?:,\[\]{}#&*!|>'\"%@`].*)$")


def round_trip() -> YAML:
    """A ruamel.yaml instance that writes a flow file back exactly as it read it."""
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def write_translations(
    text: str,
    target: str,
    values: Iterable[tuple[Entry, object]],
    *,
    rows: dict[str, int],
    file: str,
) -> tuple[str, list[Problem]]:
    """The flow YAML `text` with `values` written in `target`; aliases translated two ways."""
    yaml = round_trip()
    document = yaml.load(text)
    languages = document["languages"]
    if target not in languages:
        languages.append(target)
    problems: list[Problem] = []
    written: dict[tuple[int, object], tuple[str, object]] = {}
    for entry, value in values:
        node = _place(document, entry, target)
        name = entry.path[-1] if entry.language_first else target
        first = written.setdefault((id(node), name), (entry.key, value))
        if first[1] != value:
            message = (
                f"{entry.key}: is the same text as {first[0]} in the flow (a YAML alias); "
                "give both the same translation"
            )
            problems.append(Problem(file, rows.get(entry.key, 1), message))
            continue
        siblings = list(_languages(document, entry, node, target))
        _write(node, entry, target, value, siblings)
    out = io.StringIO()
    yaml.dump(document, out)
    return out.getvalue(), problems


def _place(document: Any, entry: Entry, target: str) -> Any:
    """The mapping that holds `entry`'s value per language (created for a new lexicon)."""
    if entry.language_first:  # screening.lexicon.<language>.<name>
        return _node(document, ("screening", "lexicon", target))
    parent = _node(document, entry.path[:-1])
    key = entry.path[-1]
    if isinstance(parent[key], str):  # a plain string is the default language's text
        parent[key] = CommentedMap([(document["languages"][0], parent[key])])
        parent[key].fa.set_flow_style()
    return parent[key]


def _languages(document: Any, entry: Entry, node: Any, target: str) -> Iterable[Any]:
    """What the other languages hold in `node`'s place (their lexicons, or their values)."""
    if entry.language_first:
        lexicons = _node(document, ("screening", "lexicon"))
        return (lexicon for language, lexicon in lexicons.items() if language != target)
    return (value for language, value in node.items() if language != target)


def _node(document: Any, path: YamlPath) -> Any:
    """The node at `path`, creating the mappings on the way that are not there yet."""
    node = document
    for part in path:
        if isinstance(part, str) and part not in node:
            node[part] = CommentedMap()
        node = node[part]
    return node


def _write(node: Any, entry: Entry, target: str, value: object, siblings: list[Any]) -> None:
    """Write one value; `siblings` hold the same thing in the flow's other languages."""
    if entry.kind is Kind.TEXT:
        assert isinstance(value, str)
        node[target] = _scalar(value)
        if node.fa.flow_style() and _one_line_width(node) > WIDTH:
            node.fa.set_block_style()
        return
    name = str(entry.path[-1]) if entry.language_first else target
    if entry.kind is Kind.VARIANTS:
        assert isinstance(value, dict)
        pairs = ((word, _list(others, flow=True)) for word, others in value.items())
        node[name] = CommentedMap(pairs)
        return
    assert isinstance(value, list)
    node[name] = _list(value, flow=_written_on_one_line(siblings, name))


def _written_on_one_line(siblings: Iterable[Any], name: str) -> bool:
    """Whether another language writes this list on one line (`[but, although]`)."""
    for other in siblings:
        candidate = other.get(name) if isinstance(other, CommentedMap) else other
        if isinstance(candidate, CommentedSeq):
            return bool(candidate.fa.flow_style())
    return False


def _scalar(value: str) -> Any:
    if "\n" in value:
        return LiteralScalarString(value)
    return DoubleQuotedScalarString(value)


def _list(items: list[str], *, flow: bool) -> CommentedSeq:
    seq = CommentedSeq(DoubleQuotedScalarString(i) if _needs_quotes(i) else i for i in items)
    if flow:
        seq.fa.set_flow_style()
    return seq


def _needs_quotes(item: str) -> bool:
    """Whether a YAML tool could read `item` as something other than text (`no`, `1`, `~`)."""
    return item.lower() in _BOOLEAN_LIKE or bool(_NOT_PLAIN.match(item))


def _one_line_width(node: CommentedMap) -> int:
    """About how wide `{en: "...", es: "..."}` is once written, with its key and indent."""
    return 24 + sum(len(str(key)) + len(str(value)) + 6 for key, value in node.items())
