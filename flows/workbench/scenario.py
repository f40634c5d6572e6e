"""The scenario file format: a patient's answers in order and the outcome they must lead to.

A scenario lives in `flows/scenarios/<flow id>/<name>.yaml` and is run against every flow file
with that id (`intake-bot flows test`), so an edited copy of a flow is tested by the scenarios
written for it. The pydantic models here are the single source of truth of the format; the
JSON Schema beside the flow schema (`flows/scenario.schema.json`) is generated from them.

`answers` is a list. An entry `step: answer` answers that step (and fails if the intake asks
something else then); a plain entry is typed text or a command (`/back`, `/skip`, ...) at
whatever step the intake is on. An answer is an option's value or label (pressed like a
button), a list of them (a multi-select), text or a number (typed), or one of
`{type: ...}`, `{choose: ...}`, `{confirm: "yes"|"no"}`, `{change: step, to: answer}`.
Steps a scenario does not mention are answered from `_defaults.yaml` in the same folder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from flows.engine.format.fields import LanguageCode, StepId
from flows.engine.format.safety_rules import Level

SCENARIO_SCHEMA_PATH = Path(__file__).resolve().parents[1] / "scenario.schema.json"
DEFAULTS_FILE = "_defaults.yaml"
COMMANDS = ("/back", "/skip", "/help", "/status", "/cancel", "/restart")
NO_REVIEW = "none"  # `priority: none`: no review item is queued (declined, cancelled)

Scalar = str | int | float | bool


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Typed(_Strict):
    """Type this text, as a patient would (it is screened like any typed text)."""

    type: str


class Chosen(_Strict):
    """Press the option(s) with this value or label (a list toggles each, then Done)."""

    choose: Scalar | list[Scalar]


class Confirm(_Strict):
    """Answer the "Just to check" question asked at this step."""

    confirm: Literal["yes", "no"] | bool


class Change(_Strict):
    """On the review screen: change the answer to `change`, giving `to` instead."""

    change: StepId
    to: Answer


Answer = Scalar | list[Scalar] | Typed | Chosen | Confirm | Change
Change.model_rebuild()

StepAnswer = Annotated[dict[StepId, Answer], Field(min_length=1, max_length=1)]
Entry = Annotated[
    str | int | float | StepAnswer,
    Field(description="`step: answer`, or typed text / a command at whatever step is asked."),
]


class MessageText(_Strict):
    """The flow's `messages` entry with this key, in whatever words the flow has."""

    message: str


class PromptText(_Strict):
    """The prompt of this step."""

    prompt: StepId


class FlagText(_Strict):
    """The message a red flag sends."""

    flag: StepId


TextRef = str | MessageText | PromptText | FlagText

Priority = Literal["emergency", "same_day", "soon", "routine", "none"]


class Expect(_Strict):
    """The outcome a scenario must reach. Unset keys are not checked."""

    end: str | None = Field(
        default=None,
        description="An end step id, or `escalated` (an emergency stopped the intake), "
        "`cancelled`, or `in_progress`.",
    )
    flags: dict[StepId, Level] | None = Field(
        default=None, description="Exactly these red flags raised, at these levels ({} for none)."
    )
    priority: Priority | None = Field(
        default=None, description="The review item's priority; `none`: no item is queued."
    )
    asks: list[StepId] = Field(default_factory=list, description="Steps that must be asked.")
    never_asks: list[StepId] = Field(default_factory=list, description="Steps never asked.")
    shows: list[TextRef] = Field(default_factory=list, description="Texts shown at some point.")
    never_shows: list[TextRef] = Field(default_factory=list, description="Texts never shown.")


class Scenario(_Strict):
    """One scenario file."""

    title: str = Field(description="What the scenario shows, in a line.")
    language: LanguageCode | None = None
    answers: list[Entry] = Field(min_length=1)
    finish: bool = Field(
        default=True,
        description="After the last answer, answer what is still asked from the defaults "
        "until the intake ends.",
    )
    expect: Expect


Defaults = dict[StepId, Answer]
"""`_defaults.yaml`: a routine answer for each step, used where a scenario says nothing."""


def scenario_json_schema() -> dict[str, Any]:
    """The JSON Schema of a scenario file."""
    schema = Scenario.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Flow scenario"
    return schema


def render_scenario_schema() -> str:
    """The scenario schema as committed: sorted keys, two-space indent, trailing newline."""
    text = json.dumps(scenario_json_schema(), indent=2, sort_keys=True, ensure_ascii=False)
    return text + "\n"
