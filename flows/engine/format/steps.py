"""Steps and their answers: the kinds of answer a step takes (buttons, scales, numbers, text,
durations; messages, the review screen, ends) and where the flow goes next.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from flows.engine.format.conditions import Condition
from flows.engine.format.fields import OptionValue, StepId, Strict, Text


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
