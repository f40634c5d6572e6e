"""What the safety net reads from a flow: red-flag levels and rules, modifiers, symptom facts,
and the free-text screening data (phrases, question patterns, each language's lexicon).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from flows.engine.format.conditions import Condition
from flows.engine.format.fields import LanguageCode, StepId, Strict, Text


class Level(StrEnum):
    """Red-flag levels, most urgent first."""

    EMERGENCY = "emergency"
    SAME_DAY = "same_day"
    SOON = "soon"

    @property
    def rank(self) -> int:
        """0 for the most urgent level."""
        return list(Level).index(self)


class RedFlag(Strict):
    """A red-flag rule, evaluated after every answer."""

    id: StepId
    level: Level
    when: Condition
    label: Text = Field(description="Short clinician-facing name of the flag.")
    message: Text = Field(description="What the patient is told when the flag is raised.")
    after_end: Text | None = Field(
        default=None,
        description="What the patient is told when the flag is raised by text sent after the "
        "intake ended (default: `message`). Promise no more questions: none will come.",
    )


class Modifier(Strict):
    """Raises the listed flags by `raise_by` levels when `when` holds (e.g. bleeding on NSAIDs)."""

    id: StepId
    when: Condition
    flags: list[StepId] = Field(min_length=1)
    raise_by: int = Field(default=1, ge=1, le=2)


class Fact(Strict):
    """A symptom fact that red-flag rules test with `{fact: id}`.

    Free text asserts it through the screening phrases of the same id; checklist answers
    assert it through `answers` (which option of which step says it).
    """

    id: StepId
    label: Text = Field(description="Short clinician-facing name of the fact.")
    answers: Condition | None = Field(
        default=None, description="Answers that assert the fact, as a ticked box does."
    )


class PhraseRule(Strict):
    """Lay phrases (and paraphrase families) that assert a fact when typed at any step."""

    fact: StepId
    phrases: dict[LanguageCode, list[str]]
    unsure: dict[LanguageCode, list[str]] = Field(
        default_factory=dict,
        description="Vaguer phrases that trigger a confirming question instead.",
    )
    confirm: Text | None = Field(
        default=None, description="The confirming question: 'Just to check ...?'"
    )


class Lexicon(Strict):
    """Word knowledge of one language for the screen: spellings, clause breaks, conditions."""

    variants: dict[str, list[str]] = Field(
        default_factory=dict,
        description="A word and its other spellings or forms (poo: [poop, stool]).",
    )
    clause_breaks: list[str] = Field(
        default_factory=list, description="Words that end a clause, like 'but'."
    )
    not_negations: list[str] = Field(
        default_factory=list,
        description="Phrases with a negation word that negate nothing ('can't stop').",
    )
    fillers: list[str] = Field(
        default_factory=list,
        description="Words that may stand between a negation and a phrase ('had', 'any').",
    )
    conditions: list[str] = Field(
        default_factory=list,
        description="Condition names; '{condition}' in a question phrase stands for each.",
    )
    serious_conditions: list[str] = Field(
        default_factory=list,
        description="Condition names that make a '{condition}' question a 'could it be "
        "serious' question ('cancer', 'something serious').",
    )
    past_markers: list[str] = Field(
        default_factory=list,
        description="Phrases that put a clause in the past ('last year', 'years ago').",
    )
    present_markers: list[str] = Field(
        default_factory=list,
        description="Phrases that keep a clause current despite a past marker ('again', 'now').",
    )
    real_words: list[str] = Field(
        default_factory=list,
        description="Real words never read as a misspelling of a screening word ('fewer').",
    )
    yes_words: list[str] = Field(
        default_factory=list, description="Words meaning yes ('yep', 'ok', 'sure')."
    )
    no_words: list[str] = Field(
        default_factory=list, description="Words meaning no ('nope', 'nah')."
    )


class Screening(Strict):
    """Free-text screening data, reviewable by clinicians; code only matches."""

    red_flags: list[PhraseRule] = Field(default_factory=list)
    negations: dict[LanguageCode, list[str]] = Field(default_factory=dict)
    diagnosis_seeking: dict[LanguageCode, list[str]] = Field(default_factory=dict)
    serious_seeking: dict[LanguageCode, list[str]] = Field(
        default_factory=dict, description="'Is this serious?', 'should I be worried?'"
    )
    advice_seeking: dict[LanguageCode, list[str]] = Field(
        default_factory=dict, description="Treatment, diet, supplement and medicine questions."
    )
    test_seeking: dict[LanguageCode, list[str]] = Field(
        default_factory=dict, description="Questions about tests and what they show."
    )
    lexicon: dict[LanguageCode, Lexicon] = Field(default_factory=dict)
