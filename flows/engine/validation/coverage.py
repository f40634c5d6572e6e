"""How far each language of a flow is written: texts translated, screening data counted.

`flows validate` prints one line per language, so an operator adding a language sees what is
left (`es: 212/431 texts`) and whether free text in it is screened at all (red-flag phrases,
vaguer phrases, negations, question phrases, lexicon). A text counts as translated when it has
a non-empty entry for the language; a plain string counts for the default language only.
"""

from __future__ import annotations

from dataclasses import dataclass

from flows.engine.format.model import Flow
from flows.engine.format.safety_rules import Lexicon
from flows.engine.validation.texts import texts


@dataclass(frozen=True, slots=True)
class Coverage:
    """What one language of a flow holds."""

    language: str
    default: bool
    translated: int
    total: int
    phrases: int  # red-flag phrases
    unsure: int  # vaguer phrases that ask a confirming question
    negations: int
    questions: int  # diagnosis- and advice-seeking phrases
    lexicon: int  # variant spellings, clause breaks, fillers and condition names

    def line(self) -> str:
        """One line for the terminal: texts, then screening counts."""
        name = f"{self.language} (default)" if self.default else self.language
        return (
            f"{name}: {self.translated}/{self.total} texts; screening: {self.phrases} red-flag "
            f"phrases, {self.unsure} unsure, {self.negations} negations, {self.questions} "
            f"question phrases, {self.lexicon} lexicon entries"
        )


def coverage(flow: Flow, extra: tuple[str, ...] = ()) -> list[Coverage]:
    """The coverage of every language of `flow` (and of `extra` languages it does not list)."""
    every = [*flow.languages, *(lang for lang in extra if lang not in flow.languages)]
    return [_coverage(flow, language) for language in every]


def _coverage(flow: Flow, language: str) -> Coverage:
    default = language == flow.default_language
    total = translated = 0
    for _, text in texts(flow):
        total += 1
        if isinstance(text, str):
            translated += int(default and bool(text.strip()))
        else:
            translated += int(bool(text.get(language, "").strip()))
    screening = flow.screening
    rules = screening.red_flags
    questions = screening.diagnosis_seeking, screening.advice_seeking
    return Coverage(
        language=language,
        default=default,
        translated=translated,
        total=total,
        phrases=sum(len(rule.phrases.get(language, [])) for rule in rules),
        unsure=sum(len(rule.unsure.get(language, [])) for rule in rules),
        negations=len(screening.negations.get(language, [])),
        questions=sum(len(table.get(language, [])) for table in questions),
        lexicon=_lexicon_size(screening.lexicon.get(language)),
    )


def _lexicon_size(lexicon: Lexicon | None) -> int:
    if lexicon is None:
        return 0
    variants = sum(1 + len(others) for others in lexicon.variants.values())
    lists = lexicon.clause_breaks, lexicon.not_negations, lexicon.fillers, lexicon.conditions
    return variants + sum(len(items) for items in lists)
