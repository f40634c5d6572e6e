"""The flow format: pydantic models that are the single source of truth for flow files.

A flow file is YAML; `flows.engine.loading.loader` parses it and validates it into a `Flow`. The
JSON Schema at `flows/flow.schema.json` is generated from `Flow` (see
`flows.engine.format.schema`). Conditions are structured data; they are interpreted by
`flows.engine.format.conditions` and never evaluated as code or handed to `transitions` as
names.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

StepId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)]
OptionValue = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_]*$", max_length=32)]
LanguageCode = Annotated[str, Field(pattern=r"^[a-z]{2}(-[A-Z]{2})?$")]

Text = str | dict[LanguageCode, str]
"""Patient-facing text: one string (the default language) or a mapping language -> string."""


class Strict(BaseModel):
    """Base for flow models: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Level(StrEnum):
    """Red-flag levels, most urgent first."""

    EMERGENCY = "emergency"
    SAME_DAY = "same_day"
    SOON = "soon"

    @property
    def rank(self) -> int:
        """0 for the most urgent level."""
        return list(Level).index(self)


# --- conditions (mirror FHIR SDC enableWhen) -------------------------------------------------

Scalar = str | int | float | bool


class Compare(Strict):
    """A test of one answer: exactly one operator key besides `answer`."""

    answer: StepId
    equals: Scalar | None = None
    in_: list[Scalar] | None = Field(default=None, alias="in")
    includes: str | None = None
    gt: float | None = None
    gte: float | None = None
    lt: float | None = None
    lte: float | None = None
    answered: bool | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _one_operator(self) -> Compare:
        ops = self.operators()
        if len(ops) != 1:
            raise ValueError(
                f"a condition on '{self.answer}' needs exactly one operator "
                f"(equals, in, includes, gt, gte, lt, lte, answered); found {len(ops)}"
            )
        return self

    def operators(self) -> list[str]:
        """Names of the operators set on this comparison."""
        names = ("equals", "in_", "includes", "gt", "gte", "lt", "lte", "answered")
        return [n.rstrip("_") for n in names if getattr(self, n) is not None]

    @property
    def operator(self) -> str:
        """The one operator this comparison uses."""
        return self.operators()[0]


class FactCheck(Strict):
    """True when a symptom fact holds: said in free text (current, not denied, sure or
    confirmed) or asserted by a checklist answer (see `Fact.answers`)."""

    fact: StepId


class AllOf(Strict):
    """True when every condition is true."""

    all: list[Condition] = Field(min_length=1)


class AnyOf(Strict):
    """True when at least one condition is true."""

    any: list[Condition] = Field(min_length=1)


class NotOf(Strict):
    """True when the condition is false."""

    not_: Condition = Field(alias="not")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


Condition = Compare | FactCheck | AllOf | AnyOf | NotOf


# --- answers ---------------------------------------------------------------------------------


class Option(Strict):
    """One button: a stable value (stored, exported) and its label."""

    value: OptionValue
    label: Text


class ChoiceAnswer(Strict):
    """Pick one option (buttons)."""

    kind: Literal["choice"]
    options: list[Option] = Field(min_length=2)


class MultiAnswer(Strict):
    """Pick any number of options (toggle buttons and Done); `none` is exclusive."""

    kind: Literal["multi"]
    options: list[Option] = Field(min_length=2)
    none: OptionValue | None = None


class ScaleAnswer(Strict):
    """A 0-10 scale (buttons), with words for both ends."""

    kind: Literal["scale"]
    low: Text
    high: Text


class NumberAnswer(Strict):
    """A whole number within bounds."""

    kind: Literal["number"]
    min: int
    max: int
    unit: Text | None = None


class YesNoAnswer(Strict):
    """Yes or no (buttons); the labels come from the flow's `messages`."""

    kind: Literal["yes_no"]


class TextAnswer(Strict):
    """Free text up to a length; always screened for red flags and questions."""

    kind: Literal["text"]
    max_length: int = Field(default=500, ge=1, le=3000)


class DurationAnswer(Strict):
    """A duration in words ("3 weeks", "2 months"); stored as days."""

    kind: Literal["duration"]
    max_days: int = Field(default=36500, ge=1)


class InfoAnswer(Strict):
    """A message with no answer; the flow moves on at once."""

    kind: Literal["info"]


class ReviewAnswer(Strict):
    """The review screen: every answer so far, change any, then submit."""

    kind: Literal["review"]


class EndAnswer(Strict):
    """An end of the intake; `outcome` says how it is recorded."""

    kind: Literal["end"]
    outcome: Literal["completed", "declined"] = "completed"


AnswerSpec = Annotated[
    ChoiceAnswer
    | MultiAnswer
    | ScaleAnswer
    | NumberAnswer
    | YesNoAnswer
    | TextAnswer
    | DurationAnswer
    | InfoAnswer
    | ReviewAnswer
    | EndAnswer,
    Field(discriminator="kind"),
]

QUESTION_KINDS = frozenset({"choice", "multi", "scale", "number", "yes_no", "text", "duration"})


# --- steps -----------------------------------------------------------------------------------


class Branch(Strict):
    """One entry of a conditional `next`: go to `goto` when `when` holds (or always)."""

    when: Condition | None = None
    goto: StepId


Next = StepId | list[Branch]


class Step(Strict):
    """One question or message of the intake."""

    prompt: Text
    answer: AnswerSpec
    next: Next | None = None
    label: Text | None = Field(
        default=None, description="Short name for the review screen and clinician summary."
    )
    section: str | None = Field(
        default=None, description="Summary section id (see the flow's `sections`)."
    )
    ask_when: Condition | None = Field(
        default=None, description="Ask only when this holds; otherwise move on (FHIR enableWhen)."
    )
    optional: bool = Field(default=False, description="The patient may skip this question.")

    @property
    def kind(self) -> str:
        """The answer kind of this step."""
        return self.answer.kind

    @property
    def is_question(self) -> bool:
        """Whether the step waits for a patient answer that is stored."""
        return self.answer.kind in QUESTION_KINDS


# --- safety ----------------------------------------------------------------------------------


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


# --- messages --------------------------------------------------------------------------------


class Messages(Strict):
    """Every patient-facing sentence that is not a step prompt. Placeholders in braces."""

    yes: Text
    no: Text
    back: Text
    skip: Text
    done: Text
    submit: Text
    change: Text
    none_selected: Text
    progress: Text = Field(description="Placeholders: {n}, {total}.")
    invalid_choice: Text
    invalid_multi: Text
    invalid_multi_none: Text
    invalid_scale: Text
    invalid_number: Text = Field(description="Placeholders: {min}, {max}.")
    invalid_yes_no: Text
    text_empty: Text
    text_too_long: Text = Field(description="Placeholder: {max}.")
    invalid_duration: Text
    review_intro: Text
    review_change: Text
    review_empty_answer: Text
    resume: Text
    restarted: Text
    nothing_to_undo: Text
    help: Text
    finished: Text
    diagnosis_refusal: Text = Field(description="A 'do I have ...?' with no condition named.")
    diagnosis_refusal_named: Text = Field(description="Placeholder: {condition}.")
    serious_refusal: Text = Field(description="Placeholder: {emergency_number}.")
    advice_refusal: Text
    test_refusal: Text
    minor: Text = Field(
        description="Under the minimum age; nothing is stored. Placeholders: {age}, "
        "{emergency_number}."
    )
    contact_offer: Text = Field(description="Offer to share a phone number for a call-back.")
    contact_button: Text
    contact_saved: Text
    contact_not_own: Text
    confirm_yes: Text
    confirm_no: Text
    unsupported_input: Text
    private_only: Text
    stale_button: Text
    status: Text = Field(description="Placeholders: {n}, {total}.")
    no_intake: Text
    cancelled: Text
    delete_confirm: Text
    delete_yes: Text
    delete_no: Text
    deleted: Text
    deleted_kept: Text = Field(description="Placeholders: {count}, {until}.")
    delete_kept: Text
    declined_data_kept: Text
    mydata_header: Text
    mydata_profile: Text = Field(description="Placeholders: {name}, {username}.")
    mydata_intake: Text = Field(description="Placeholder: {date}.")
    mydata_words: Text = Field(description="Before the patient's words behind red flags.")
    mydata_callback: Text = Field(description="Placeholder: {phone}.")
    mydata_empty: Text
    not_available: Text
    blocked_until_consent: Text
    choose_many: Text = Field(description="How to answer a multi-select question (after its text).")
    choose_many_or_none: Text = Field(
        description="The same, for a multi-select with a 'none' option. Placeholder: {none}."
    )
    language_prompt: Text = Field(description="Asks which language to carry on in (/language).")
    language_changed: Text = Field(description="Says the intake carries on in this language.")
    language_name: Text = Field(description="Each language's name, written in that language.")
    duration_days: Text = Field(description="Placeholder: {n}. One|more: '1 day|{n} days'.")
    duration_weeks: Text = Field(description="Placeholder: {n}. One|more: '1 week|{n} weeks'.")
    duration_months: Text = Field(description="Placeholder: {n}. One|more.")
    duration_years: Text = Field(description="Placeholder: {n}. One|more.")
    menu_start: Text = Field(description="Telegram command menu: /start.")
    menu_back: Text = Field(description="Telegram command menu: /back.")
    menu_status: Text = Field(description="Telegram command menu: /status.")
    menu_help: Text = Field(description="Telegram command menu: /help.")
    menu_restart: Text = Field(description="Telegram command menu: /restart.")
    menu_cancel: Text = Field(description="Telegram command menu: /cancel.")
    menu_language: Text = Field(description="Telegram command menu: /language.")
    menu_mydata: Text = Field(description="Telegram command menu: /mydata.")
    menu_delete: Text = Field(description="Telegram command menu: /delete.")
    turn_failed: Text = Field(
        description="A turn failed: the clinic has not received the message. Placeholder: "
        "{emergency_number} (required)."
    )
    flag_recorded: Text = Field(
        description="After a red flag raised by text sent after the intake ended: it was added "
        "to the intake and a clinician will be told."
    )
    intake_closed: Text = Field(
        description="Text sent after an intake was closed for being idle too long."
    )


class TypedMessages(Strict):
    """Messages for channels without buttons (the terminal chat), where they say how to answer.

    Each replaces the `messages` entry of the same name there; one left out keeps that entry.
    """

    choose_many: Text | None = None
    choose_many_or_none: Text | None = None
    invalid_choice: Text | None = None
    invalid_multi: Text | None = None
    invalid_multi_none: Text | None = None
    invalid_scale: Text | None = None
    invalid_yes_no: Text | None = None
    blocked_until_consent: Text | None = None


# --- the flow --------------------------------------------------------------------------------


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


Fact.model_rebuild()
AllOf.model_rebuild()
AnyOf.model_rebuild()
NotOf.model_rebuild()
Branch.model_rebuild()
Step.model_rebuild()
Flow.model_rebuild()
