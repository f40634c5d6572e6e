"""The free-text screen: red-flag phrases, confirming questions, diagnosis and advice questions.

Every text a patient types, at any step, goes through `Screener.screen` before it is parsed as
an answer. The phrase lists are the flow's `screening` data (reviewed by clinicians); this
module only matches them. A phrase found with no negation word shortly before it in the same
clause ("no blood", "never vomited blood"; a comma or "but" ends the scope) raises its flag; a
vaguer `unsure` phrase, or a phrase with a negation a few words before it that may not deny it
("no appetite and vomited blood"), asks the rule's `confirm` question instead. Diagnosis- and
advice-seeking phrases are reported so the engine can answer with the flow's refusals, unless a
negation stands just before them ("I don't know what's wrong with me" is an answer).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import Enum

from flows.engine.format.model import Flow, Lexicon, Screening
from flows.engine.safety.phrases import Entry, Match, PhraseSet, Vocabulary, clauses, fold, words

NEGATION_WINDOW = 3  # words before a phrase in which a negation word cancels it
RED_FLAG_GAP = 2  # extra words allowed between two words of a red-flag phrase
QUESTION_GAP = 1  # the same for diagnosis- and advice-seeking phrases
DIAGNOSIS = "diagnosis"
ADVICE = "advice"
CONDITION = "{condition}"  # placeholder in question phrases for each condition name
_SURE, _VAGUE, _QUESTION, _NEGATION, _NOT_NEGATION = "sure", "vague", "question", "neg", "notneg"


@dataclass(frozen=True, slots=True)
class ScreenResult:
    """What one text raised: flags matched with confidence, flags to confirm, question intents."""

    flags: tuple[str, ...] = ()
    unsure: tuple[str, ...] = ()
    diagnosis_seeking: bool = False
    advice_seeking: bool = False

    @property
    def empty(self) -> bool:
        """Whether the text raised nothing at all."""
        return not (self.flags or self.unsure or self.diagnosis_seeking or self.advice_seeking)


@dataclass(frozen=True, slots=True)
class _Found:
    flags: frozenset[str]
    unsure: frozenset[str]
    intents: frozenset[str]


class _Scope(Enum):
    """Whether a negation stands before a phrase, and how surely it negates it."""

    NONE = "none"
    WEAK = "weak"
    STRONG = "strong"


class _Language:
    """The screening data of one language, compiled into phrase sets."""

    def __init__(self, screening: Screening, language: str) -> None:
        lexicon = screening.lexicon.get(language, Lexicon())
        sure = [(p, r.flag) for r in screening.red_flags for p in r.phrases.get(language, [])]
        vague = [(p, r.flag) for r in screening.red_flags for p in r.unsure.get(language, [])]
        questions = [
            *((p, DIAGNOSIS) for p in _expand(screening.diagnosis_seeking, language, lexicon)),
            *((p, ADVICE) for p in _expand(screening.advice_seeking, language, lexicon)),
        ]
        negations = screening.negations.get(language, [])
        every = [p for p, _ in (*sure, *vague, *questions)]
        every += [*negations, *lexicon.not_negations, *lexicon.fillers]
        self.vocabulary = Vocabulary(lexicon.variants, {w for p in every for w in words(p)})
        self.breaks = frozenset(fold(w) for w in lexicon.clause_breaks)
        self.fillers = frozenset(self.vocabulary.canonical(fold(w)) for w in lexicon.fillers)
        entries = [
            *self._entries(_SURE, sure, RED_FLAG_GAP),
            *self._entries(_VAGUE, vague, RED_FLAG_GAP),
            *self._entries(_QUESTION, questions, QUESTION_GAP),
            *self._entries(_NEGATION, ((n, "") for n in negations), 0),
            *self._entries(_NOT_NEGATION, ((n, "") for n in lexicon.not_negations), 0),
        ]
        self.phrases = PhraseSet(entries)

    def _entries(self, kind: str, phrases: Iterable[tuple[str, str]], gap: int) -> Iterator[Entry]:
        for phrase, tag in phrases:
            yield Entry(self.vocabulary.phrase(phrase), kind, tag, gap)

    def find(self, text: str) -> _Found:
        """Flags, unsure flags and intents found in `text`."""
        flags: set[str] = set()
        unsure: set[str] = set()
        intents: set[str] = set()
        for raw in clauses(text, self.breaks):
            clause = self.vocabulary.clause(raw)
            matches = self.phrases.find(clause)
            negated = _negated_positions(matches)
            any_negation = _negated_positions(matches, all_=True)
            for match in matches:
                kind, tag = match.entry.kind, match.entry.tag
                if kind == _QUESTION:
                    # "I don't know what's wrong with me" says something; it asks nothing.
                    if self._negation(match, clause, any_negation) is _Scope.NONE:
                        intents.add(tag)
                elif kind in (_SURE, _VAGUE):
                    scope = self._negation(match, clause, negated)
                    if scope is _Scope.NONE and kind == _SURE:
                        flags.add(tag)
                    elif scope is not _Scope.STRONG:
                        unsure.add(tag)
        return _Found(frozenset(flags), frozenset(unsure), frozenset(intents))

    def _negation(self, match: Match, clause: list[str], negated: frozenset[int]) -> _Scope:
        """How surely a negation cancels `match`: inside its gaps or just before it."""
        if not negated:
            return _Scope.NONE
        inside = range(match.start, match.positions[-1])
        if any(p in negated and p not in match.positions for p in inside):
            return _Scope.STRONG
        for p in range(match.start - 1, max(0, match.start - NEGATION_WINDOW) - 1, -1):
            if p in negated:
                between = clause[p + 1 : match.start]
                # "no appetite and vomited blood" is not surely a denial: confirm instead.
                return _Scope.STRONG if self.fillers.issuperset(between) else _Scope.WEAK
        return _Scope.NONE


def _negated_positions(matches: list[Match], *, all_: bool = False) -> frozenset[int]:
    """Positions of negation words, less those inside phrases like "can't stop" (unless `all_`)."""
    negating = {p for m in matches if m.entry.kind == _NEGATION for p in m.positions}
    if negating and not all_:
        negating -= {p for m in matches if m.entry.kind == _NOT_NEGATION for p in m.positions}
    return frozenset(negating)


def _expand(phrases: dict[str, list[str]], language: str, lexicon: Lexicon) -> list[str]:
    """The phrases of `language`, with '{condition}' replaced by each condition name."""
    expanded: list[str] = []
    for phrase in phrases.get(language, []):
        if CONDITION in phrase:
            expanded.extend(phrase.replace(CONDITION, name) for name in lexicon.conditions)
        else:
            expanded.append(phrase)
    return expanded


class Screener:
    """A flow's screening data compiled once; `screen` checks one patient text."""

    def __init__(self, flow: Flow) -> None:
        self._default = flow.default_language
        self._languages = {lang: _Language(flow.screening, lang) for lang in flow.languages}
        self._order = {rule.flag: i for i, rule in enumerate(flow.screening.red_flags)}

    def screen(self, text: str, language: str) -> ScreenResult:
        """Screen `text` in `language` (and the flow's default language)."""
        found = [
            self._languages[lang].find(text)
            for lang in dict.fromkeys((language, self._default))
            if lang in self._languages
        ]
        flags = frozenset().union(*(f.flags for f in found))
        unsure = frozenset().union(*(f.unsure for f in found)) - flags
        intents = frozenset().union(*(f.intents for f in found))
        return ScreenResult(
            flags=self._ordered(flags),
            unsure=self._ordered(unsure),
            diagnosis_seeking=DIAGNOSIS in intents,
            advice_seeking=ADVICE in intents,
        )

    def _ordered(self, ids: frozenset[str]) -> tuple[str, ...]:
        return tuple(sorted(ids, key=self._order.__getitem__))
