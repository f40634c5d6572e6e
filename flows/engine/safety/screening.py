"""The free-text screen: symptom facts and question intents in what a patient types.

Every text a patient types, at any step, goes through `Screener.screen` before it is parsed as
an answer. The phrase lists are the flow's `screening` data (reviewed by clinicians); this
module only matches them. The screen yields facts, not flags: each `Finding` names a fact with
its negation, tense, certainty and the patient's words; the flow's red-flag rules then decide
what the facts (with the checklist answers and the age) amount to.

- A phrase with a negation word shortly before it in the same clause ("no blood", "never
  vomited blood"; a comma or "but" ends the scope) is negated. A negation a few words before
  it that may not deny it ("no appetite and vomited blood") leaves it unsure.
- A clause with a past marker ("last year") and no present marker ("again") is past.
- `phrases` are sure; `unsure` phrases ask the fact's confirming question first.

Question intents (diagnosis, serious, advice, test) are reported so the engine can answer each
with its refusal, unless a negation stands just before them ("I don't know what's wrong with
me" is an answer); a "do I have {condition}" question carries the patient's own words for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import Enum

from flows.engine.format.model import Flow
from flows.engine.format.safety_rules import Lexicon, Screening
from flows.engine.safety.phrases import (
    Entry,
    Match,
    PhraseSet,
    Token,
    Vocabulary,
    clauses,
    fold,
    words,
)

NEGATION_WINDOW = 3  # words before a phrase in which a negation word cancels it
RED_FLAG_GAP = 2  # extra words allowed between two words of a fact phrase
QUESTION_GAP = 1  # the same for question phrases
MAX_QUOTE = 240  # characters of the patient's words kept as evidence
DIAGNOSIS, SERIOUS, ADVICE, TEST = "diagnosis", "serious", "advice", "test"
INTENTS = (SERIOUS, DIAGNOSIS, TEST, ADVICE)  # the order refusals are sent in
CONDITION = "{condition}"  # placeholder in question phrases for each condition name
_SURE, _VAGUE, _QUESTION, _NEGATION, _NOT_NEGATION = "sure", "vague", "question", "neg", "notneg"
_PAST, _PRESENT = "past", "present"


@dataclass(frozen=True, slots=True)
class Finding:
    """A fact found in a text: negation, tense, certainty and the patient's words."""

    fact: str
    sure: bool
    negated: bool = False
    past: bool = False
    words: str = ""  # the clause it was found in, as typed

    @property
    def counts(self) -> bool:
        """Whether the finding asserts the fact now (current and not denied)."""
        return not self.negated and not self.past


@dataclass(frozen=True, slots=True)
class Question:
    """A question intent found in a text, with the condition named in the patient's words."""

    intent: str
    condition: str | None = None


@dataclass(frozen=True, slots=True)
class ScreenResult:
    """What one text holds: fact findings and question intents."""

    findings: tuple[Finding, ...] = ()
    questions: tuple[Question, ...] = ()

    @property
    def facts(self) -> tuple[str, ...]:
        """Facts asserted surely, now, without denial."""
        return tuple(dict.fromkeys(f.fact for f in self.findings if f.counts and f.sure))

    @property
    def unsure(self) -> tuple[str, ...]:
        """Facts to confirm: vague or weakly denied, now, and not also asserted surely."""
        sure = set(self.facts)
        vague = (f.fact for f in self.findings if f.counts and not f.sure and f.fact not in sure)
        return tuple(dict.fromkeys(vague))

    @property
    def intents(self) -> tuple[str, ...]:
        """The question intents found, in the order their refusals are sent."""
        found = {q.intent for q in self.questions}
        return tuple(i for i in INTENTS if i in found)

    @property
    def asks(self) -> bool:
        """Whether the text asks something the bot must refuse."""
        return bool(self.questions)

    def evidence(self, fact: str) -> Finding | None:
        """The finding that asserts (or asks about) `fact`, if any."""
        return next((f for f in self.findings if f.fact == fact and f.counts), None)

    def condition(self) -> str | None:
        """The condition a 'do I have ...?' question names, in the patient's words."""
        return next((q.condition for q in self.questions if q.condition), None)

    @property
    def empty(self) -> bool:
        """Whether the text holds nothing at all."""
        return not (self.findings or self.questions)


class _Scope(Enum):
    """Whether a negation stands before a phrase, and how surely it negates it."""

    NONE = "none"
    WEAK = "weak"
    STRONG = "strong"


class _Language:
    """The screening data of one language, compiled into phrase sets."""

    def __init__(self, screening: Screening, language: str) -> None:
        lexicon = screening.lexicon.get(language, Lexicon())
        sure = [(p, r.fact) for r in screening.red_flags for p in r.phrases.get(language, [])]
        vague = [(p, r.fact) for r in screening.red_flags for p in r.unsure.get(language, [])]
        questions = list(_questions(screening, language, lexicon))
        negations = screening.negations.get(language, [])
        markers = [*lexicon.past_markers, *lexicon.present_markers]
        every = [p for p, _ in (*sure, *vague)] + [q[0] for q in questions]
        every += [*negations, *lexicon.not_negations, *lexicon.fillers, *markers]
        known = {w for p in every for w in words(p)}
        flagged = {w for p, _ in (*sure, *vague) for w in words(p)}
        self.vocabulary = Vocabulary(lexicon.variants, known, lexicon.real_words, flagged)
        self.breaks = frozenset(fold(w) for w in lexicon.clause_breaks)
        self.fillers = frozenset(self.vocabulary.canonical(fold(w)) for w in lexicon.fillers)
        entries = [
            *self._entries(_SURE, sure, RED_FLAG_GAP),
            *self._entries(_VAGUE, vague, RED_FLAG_GAP),
            *self._question_entries(questions),
            *self._entries(_NEGATION, ((n, "") for n in negations), 0),
            *self._entries(_NOT_NEGATION, ((n, "") for n in lexicon.not_negations), 0),
            *self._entries(_PAST, ((m, "") for m in lexicon.past_markers), 0),
            *self._entries(_PRESENT, ((m, "") for m in lexicon.present_markers), 0),
        ]
        self.phrases = PhraseSet(entries)

    def _entries(self, kind: str, phrases: Iterable[tuple[str, str]], gap: int) -> Iterator[Entry]:
        for phrase, tag in phrases:
            yield Entry(self.vocabulary.phrase(phrase), kind, tag, gap)

    def _question_entries(self, questions: list[tuple[str, str, str]]) -> Iterator[Entry]:
        for phrase, intent, condition in questions:
            full = self.vocabulary.phrase(phrase)
            slot = (0, 0)
            if condition:
                before = self.vocabulary.phrase(phrase[: phrase.index(condition)])
                slot = (len(before), len(before) + len(self.vocabulary.phrase(condition)))
            yield Entry(full, _QUESTION, intent, QUESTION_GAP, slot)

    def find(self, text: str) -> tuple[list[Finding], list[Question]]:
        """Fact findings and question intents in `text`."""
        findings: list[Finding] = []
        questions: list[Question] = []
        readings = (r for raw in clauses(text, self.breaks) for r in self.vocabulary.readings(raw))
        for clause in readings:
            names = [w for w, _, _ in clause]
            matches = self.phrases.find(names)
            kinds = {m.entry.kind for m in matches}
            past = _PAST in kinds and _PRESENT not in kinds
            quote = text[clause[0][1] : clause[-1][2]][:MAX_QUOTE]
            negated = _negated_positions(matches)
            any_negation = _negated_positions(matches, all_=True)
            for match in matches:
                kind = match.entry.kind
                if kind == _QUESTION:
                    # "I don't know what's wrong with me" says something; it asks nothing.
                    if self._negation(match, names, any_negation) is _Scope.NONE:
                        questions.append(_question(match, clause, text))
                elif kind in (_SURE, _VAGUE):
                    scope = self._negation(match, names, negated)
                    sure = kind == _SURE and scope is _Scope.NONE
                    strong = scope is _Scope.STRONG
                    findings.append(Finding(match.entry.tag, sure, strong, past, quote))
        return findings, questions

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


def _question(match: Match, clause: list[Token], text: str) -> Question:
    """A question match, with the patient's words for the condition it names."""
    first, last = match.entry.slot
    if first == last:
        return Question(match.entry.tag)
    spans = [clause[p] for p in match.positions[first:last]]
    return Question(match.entry.tag, text[spans[0][1] : spans[-1][2]])


def _negated_positions(matches: list[Match], *, all_: bool = False) -> frozenset[int]:
    """Positions of negation words, less those inside phrases like "can't stop" (unless `all_`)."""
    negating = {p for m in matches if m.entry.kind == _NEGATION for p in m.positions}
    if negating and not all_:
        negating -= {p for m in matches if m.entry.kind == _NOT_NEGATION for p in m.positions}
    return frozenset(negating)


def _questions(
    screening: Screening, language: str, lexicon: Lexicon
) -> Iterator[tuple[str, str, str]]:
    """(phrase, intent, condition name) for every question phrase of `language`.

    '{condition}' is replaced by each condition name; a serious one ('cancer') makes the
    question a serious one.
    """
    serious = set(lexicon.serious_conditions)
    lists = (
        (screening.diagnosis_seeking, DIAGNOSIS),
        (screening.serious_seeking, SERIOUS),
        (screening.advice_seeking, ADVICE),
        (screening.test_seeking, TEST),
    )
    for phrases, intent in lists:
        for phrase in phrases.get(language, []):
            if CONDITION not in phrase:
                yield phrase, intent, ""
                continue
            for name in [*lexicon.conditions, *lexicon.serious_conditions]:
                filled = phrase.replace(CONDITION, name)
                yield filled, SERIOUS if name in serious else intent, name


class Screener:
    """A flow's screening data compiled once; `screen` checks one patient text."""

    def __init__(self, flow: Flow) -> None:
        self._default = flow.default_language
        self._languages = {lang: _Language(flow.screening, lang) for lang in flow.languages}
        self._order = {rule.fact: i for i, rule in enumerate(flow.screening.red_flags)}

    def knows(self, word: str, language: str) -> bool:
        """Whether `word` is a listed word of `language` (read as itself, never as a slip)."""
        lang = self._languages.get(language)
        folded = fold(word)
        return lang is not None and (folded in lang.breaks or lang.vocabulary.knows(folded))

    def screen(self, text: str, language: str) -> ScreenResult:
        """Screen `text` in `language` (and the flow's default language)."""
        findings: list[Finding] = []
        questions: list[Question] = []
        for lang in dict.fromkeys((language, self._default)):
            if lang in self._languages:
                found, asked = self._languages[lang].find(text)
                findings += found
                questions += asked
        findings.sort(key=lambda f: self._order.get(f.fact, len(self._order)))
        return ScreenResult(tuple(dict.fromkeys(findings)), tuple(dict.fromkeys(questions)))
