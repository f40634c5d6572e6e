"""The translatable content of a flow, as entries with stable keys.

A key is the text's place in the flow file with list positions replaced by the ids operators
give things: `steps.age.prompt`, `steps.consent.answer.options.agree.label`,
`red_flags.vomit_blood.message`, `messages.help`. Keys survive reordering, so a translation
file made for one version of a flow still fits the next.

Besides texts (one string per language), a flow holds screening data per language: red-flag
phrases, vaguer phrases, negations, question phrases and the lexicon. These are not
translations of single strings but lists a native speaker writes for their language, one item
per line (lexicon variants as `word: other, forms`); they travel in the same file so a new
language is complete, screening included, when its file is.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from flows.engine.format.fields import Text
from flows.engine.format.model import Flow
from flows.engine.format.problems import PathPart
from flows.engine.format.safety_rules import Lexicon
from flows.engine.validation.context import YamlPath
from flows.engine.validation.texts import texts

PLACEHOLDER = re.compile(r"\{\w+\}")
ID_FIELDS = ("id", "value", "panel", "fact")  # what names an item of a list, in that order
LEXICON_LISTS = (
    "clause_breaks",
    "not_negations",
    "fillers",
    "conditions",
    "serious_conditions",
    "past_markers",
    "present_markers",
    "real_words",
    "yes_words",
    "no_words",
)
QUESTION_TABLES = (
    "negations",
    "diagnosis_seeking",
    "serious_seeking",
    "advice_seeking",
    "test_seeking",
)


class Kind(StrEnum):
    """How an entry is written: one text, a list (one item per line) or lexicon variants."""

    TEXT = "text"
    LIST = "list"
    VARIANTS = "variants"


@dataclass(frozen=True, slots=True)
class Entry:
    """One translatable thing: its key, where it lives in the YAML, and its texts by language.

    `path` leads to the mapping language -> value (for lexicon entries, to the lexicon of each
    language: `language_first`). `values` holds the existing value per language, already
    written as a translator sees it (lists joined by newlines).
    """

    key: str
    kind: Kind
    path: YamlPath
    values: dict[str, str]
    note: str = ""
    language_first: bool = False


def catalog(flow: Flow) -> list[Entry]:
    """Every translatable text, and every screening list the flow keeps, in file order."""
    entries = [_text_entry(flow, path, text) for path, text in texts(flow)]
    entries += [entry for entry in _screening_entries(flow) if any(entry.values.values())]
    return entries


def _text_entry(flow: Flow, path: YamlPath, text: Text) -> Entry:
    values = {flow.default_language: text} if isinstance(text, str) else dict(text)
    clinician = path[0] in ("workup", "sections") or (path[0] == "red_flags" and "label" in path)
    notes = ["clinician-facing"] if clinician else []
    source = values.get(flow.default_language, "")
    places = sorted(set(PLACEHOLDER.findall(source)))
    if places:
        notes.append("keep " + " ".join(places))
    if "|" in source and path[0] == "messages":
        notes.append("one|more: the form for 1, a bar, the form for other counts")
    return Entry(stable_key(flow, path), Kind.TEXT, path, values, "; ".join(notes))


def stable_key(flow: Flow, path: YamlPath) -> str:
    """The key of a YAML path: list positions replaced by the ids of the items there."""
    parts: list[str] = []
    node: Any = flow
    for part in path:
        node = _child(node, part)
        parts.append(_item_id(node) if isinstance(part, int) else str(part))
    return ".".join(parts)


def _child(node: Any, part: PathPart) -> Any:
    if isinstance(part, int):
        return node[part]
    if isinstance(node, dict):
        return node.get(part)
    if isinstance(node, BaseModel):
        for name, info in type(node).model_fields.items():
            if part in (name, info.alias):
                return getattr(node, name)
    return None


def _item_id(item: Any) -> str:
    for name in ID_FIELDS:
        value = getattr(item, name, None)
        if isinstance(value, str):
            return value
    raise ValueError(f"a list item without an id: {type(item).__name__}")


def _screening_entries(flow: Flow) -> Iterator[Entry]:
    screening = flow.screening
    phrase_note = "one phrase per line; lower case, accents and apostrophes are ignored"
    seen: dict[str, int] = {}
    for index, rule in enumerate(screening.red_flags):
        seen[rule.fact] = seen.get(rule.fact, 0) + 1
        # a fact may have several phrase rules (its paraphrase families): number the later ones
        fact = rule.fact if seen[rule.fact] == 1 else f"{rule.fact}.{seen[rule.fact]}"
        for name, table in (("phrases", rule.phrases), ("unsure", rule.unsure)):
            path: YamlPath = ("screening", "red_flags", index, name)
            key = f"screening.red_flags.{fact}.{name}"
            yield Entry(key, Kind.LIST, path, _lines(table), phrase_note)
    for name in QUESTION_TABLES:
        table = getattr(screening, name)
        extra = "; {condition} stands for each condition name" if "seek" in name else ""
        note = phrase_note + extra
        yield Entry(f"screening.{name}", Kind.LIST, ("screening", name), _lines(table), note)
    lexicons = screening.lexicon
    for name in LEXICON_LISTS:
        values = {lang: "\n".join(getattr(lex, name)) for lang, lex in lexicons.items()}
        path = ("screening", "lexicon", name)
        note = f"one per line ({Lexicon.model_fields[name].description})"
        yield Entry(f"screening.lexicon.{name}", Kind.LIST, path, values, note, True)
    variants = {lang: _variant_lines(lex.variants) for lang, lex in lexicons.items()}
    note = "one word per line, then a colon and its other spellings or forms, comma-separated"
    path = ("screening", "lexicon", "variants")
    yield Entry("screening.lexicon.variants", Kind.VARIANTS, path, variants, note, True)


def _lines(table: dict[str, list[str]]) -> dict[str, str]:
    return {lang: "\n".join(items) for lang, items in table.items()}


def _variant_lines(variants: dict[str, list[str]]) -> str:
    return "\n".join(f"{word}: {', '.join(others)}" for word, others in variants.items())


def parse_list(value: str) -> list[str]:
    """The items of a list entry: one per line, blank lines dropped."""
    return [line.strip() for line in value.splitlines() if line.strip()]


def parse_variants(value: str) -> dict[str, list[str]] | str:
    """Lexicon variants from `word: a, b` lines, or the first line that is not of that shape."""
    variants: dict[str, list[str]] = {}
    for line in parse_list(value):
        word, colon, others = line.partition(":")
        if not colon or not word.strip():
            return line
        variants[word.strip()] = [o.strip() for o in others.split(",") if o.strip()]
    return variants
