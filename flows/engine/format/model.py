"""The flow format: `Flow`, the pydantic model that is the single source of truth for flow files.

A flow file is YAML; `flows.engine.loading.loader` parses it and validates it into a `Flow`. The
JSON Schema at `flows/flow.schema.json` is generated from `Flow` (see
`flows.engine.format.schema`). Its parts live beside it: ids and `Text` in `fields`, conditions
(structured data, interpreted in `conditions` and never evaluated as code or handed to
`transitions` as names), steps and answers in `steps`, red flags and screening in
`safety_rules`, patient-facing messages in `messages`.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from flows.engine.format.conditions import Condition
from flows.engine.format.fields import LanguageCode, OptionValue, StepId, Strict, Text
from flows.engine.format.messages import Messages, TypedMessages
from flows.engine.format.safety_rules import Fact, Modifier, RedFlag, Screening
from flows.engine.format.steps import Step


class WorkupHint(Strict):
    """A panel the answers point at, for the clinician summary only."""

    panel: StepId
    label: Text
    when: Condition
    reason: Text


class Section(Strict):
    """A heading of the clinician summary."""

    id: StepId
    title: Text


class Consent(Strict):
    """Which step asks for consent, which option value grants it and which declines it."""

    step: StepId
    accept: OptionValue
    decline: OptionValue | None = Field(
        default=None, description="The option a typed 'no' chooses (yes-words choose accept)."
    )


class MinimumAge(Strict):
    """The age below which the intake stops (nothing stored) and points to a parent."""

    step: StepId = Field(description="The number step that asks the age.")
    age: int = Field(ge=1, le=120)


class WordingException(Strict):
    """A reviewed exception to the wording lint: `phrase` may appear in `where`."""

    where: str = Field(description="A step id, or messages.<key>, or red_flags.<id>.")
    phrase: str
    reason: str
    reviewed_by: str


class Flow(Strict):
    """A whole intake flow, as an operator writes it."""

    id: StepId
    version: int = Field(ge=1)
    title: Text
    languages: list[LanguageCode] = Field(min_length=1)
    start: StepId
    consent: Consent
    minimum_age: MinimumAge | None = None
    sections: list[Section] = Field(default_factory=list)
    steps: dict[StepId, Step] = Field(min_length=1)
    facts: list[Fact] = Field(default_factory=list)
    red_flags: list[RedFlag] = Field(default_factory=list)
    modifiers: list[Modifier] = Field(default_factory=list)
    screening: Screening = Field(default_factory=Screening)
    workup: list[WorkupHint] = Field(default_factory=list)
    messages: Messages
    typed_messages: TypedMessages = Field(
        default_factory=TypedMessages,
        description="Messages for channels without buttons (the terminal chat).",
    )
    wording_exceptions: list[WordingException] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _read_flag_phrases(cls, data: Any) -> Any:
        """Read a flow written before facts (stored snapshots of intakes in progress).

        There, `screening.red_flags[].flag: X` meant "these phrases raise flag X": it is read
        as fact X, declared, and added to flag X's rule as `any: [its when, {fact: X}]`.
        """
        screening = data.get("screening") if isinstance(data, dict) else None
        if not isinstance(screening, dict):
            return data
        rules = screening.get("red_flags")
        legacy = [r for r in rules or [] if isinstance(r, dict) and "flag" in r]
        if not legacy:
            return data
        ids = {str(r["flag"]) for r in legacy}
        known = {f.get("id") for f in data.get("facts") or [] if isinstance(f, dict)}
        phrases = [
            {**{k: v for k, v in r.items() if k != "flag"}, "fact": r["flag"]} if r in legacy else r
            for r in rules or []
        ]
        facts = [*(data.get("facts") or []), *({"id": i, "label": i} for i in ids - known)]
        flags = [
            {**r, "when": {"any": [r["when"], {"fact": r["id"]}]}}
            if isinstance(r, dict) and r.get("id") in ids and "when" in r
            else r
            for r in data.get("red_flags") or []
        ]
        return {
            **data,
            "screening": {**screening, "red_flags": phrases},
            "facts": facts,
            "red_flags": flags,
        }

    @property
    def default_language(self) -> str:
        """The first listed language."""
        return self.languages[0]

    def language_for(self, code: str | None) -> str:
        """The flow language for a language tag ('es-MX' -> 'es' when listed), else the default."""
        if code:
            if code in self.languages:
                return code
            base = code.replace("_", "-").split("-")[0].lower()
            if base in self.languages:
                return base
        return self.default_language

    def text(self, value: Text, language: str | None = None) -> str:
        """Resolve a `Text` in `language`, falling back to the default language."""
        if isinstance(value, str):
            return value
        lang = language if language in value else self.default_language
        return value.get(lang) or next(iter(value.values()))

    def message(self, key: str, language: str | None = None, **values: Any) -> str:
        """A `messages` entry in `language` with its placeholders filled."""
        raw = self.text(getattr(self.messages, key), language)
        return raw.format_map(_Keep(values)) if values else raw

    def fact(self, fact_id: str) -> Fact:
        """The fact with this id."""
        for fact in self.facts:
            if fact.id == fact_id:
                return fact
        raise KeyError(fact_id)

    def typed_variant(self) -> Flow:
        """This flow as a channel without buttons runs it: `typed_messages` take their place."""
        given = {name: text for name, text in self.typed_messages if text is not None}
        if not given:
            return self
        return self.model_copy(update={"messages": self.messages.model_copy(update=given)})

    def flag(self, flag_id: str) -> RedFlag:
        """The red-flag rule with this id."""
        for rule in self.red_flags:
            if rule.id == flag_id:
                return rule
        raise KeyError(flag_id)


class _Keep(dict[str, Any]):
    """Format values that leave unknown placeholders as they are (filled later)."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"
