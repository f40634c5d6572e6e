"""Safety vignettes: patient stories as data, replayed against the engine in process.

A vignette (a YAML file) names the review level its story must reach (emergency, same_day,
soon or routine), the answers that differ from a routine patient's (`_defaults.yaml` beside
the stories), texts typed before answering a step (`before`), paraphrases of its key text
(`say`, filled in for `{say}`; each paraphrase is one run) and the refusals it expects. A run
presses buttons and types text exactly as a patient would, answers "Just to check" questions
as the story says, and records the level reached, problems (a missing refusal, a refusal that
moved the intake on, a stuck step) and any message that ties a condition to the patient.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from ruamel.yaml import YAML

from flows.engine.conversation import Conversation
from flows.engine.flags import priority
from flows.engine.prompts import Placeholders
from flows.engine.values import Action, ActionKind, Prompt, PromptKind
from flows.engine.wording import diagnosis_words

LEVELS = ("emergency", "same_day", "soon", "routine")
DEFAULTS_FILE = "_defaults.yaml"
MAX_TURNS = 400
MAX_TRIES_PER_STEP = 4
PLACES = Placeholders(booking_url="https://book.example/precision", emergency_number="112")

YesNo = Literal["yes", "no"]


class Vignette(BaseModel):
    """One patient story and the level it must reach."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    level: Literal["emergency", "same_day", "soon", "routine"]
    language: str = "en"
    story: str
    answers: dict[str, Any] = Field(default_factory=dict)
    before: dict[str, list[str]] = Field(default_factory=dict)
    say: list[str] = Field(default_factory=list)
    confirm: YesNo | dict[str, YesNo] = "no"
    expect: list[Literal["diagnosis_refusal", "advice_refusal"]] = Field(default_factory=list)

    def confirms(self, flag: str) -> bool:
        """The story's answer to the confirming question about `flag`."""
        answer = self.confirm if isinstance(self.confirm, str) else self.confirm.get(flag, "no")
        return answer == "yes"


@dataclass
class Run:
    """One replay of a vignette (with one paraphrase)."""

    vignette: Vignette
    said: str | None
    level: str = "routine"
    problems: list[str] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        """The vignette id, with the paraphrase when there is one."""
        return f"{self.vignette.id} [{self.said}]" if self.said is not None else self.vignette.id


def load_vignettes(directory: Path) -> tuple[list[Vignette], dict[str, Any]]:
    """The vignettes in `directory` (sorted by file name) and the routine defaults."""
    yaml = YAML(typ="safe", pure=True)
    defaults = yaml.load((directory / DEFAULTS_FILE).read_text(encoding="utf-8")) or {}
    stories = [
        Vignette.model_validate(yaml.load(path.read_text(encoding="utf-8")))
        for path in sorted(directory.glob("*.yaml"))
        if not path.name.startswith("_")
    ]
    return stories, defaults


def replay_all(conversation: Conversation, directory: Path) -> list[Run]:
    """Every run of every vignette in `directory`."""
    stories, defaults = load_vignettes(directory)
    runs = []
    for story in stories:
        paraphrases: list[str | None] = list(story.say) or [None]
        runs += [replay(conversation, story, said, defaults) for said in paraphrases]
    return runs


def replay(
    conversation: Conversation, story: Vignette, said: str | None, defaults: dict[str, Any]
) -> Run:
    """One run of `story` with the paraphrase `said`, played to its end and judged."""
    return _Replay(conversation, story, said, defaults).run()


class _Replay:
    """Plays one vignette against a fresh intake state."""

    def __init__(
        self,
        conversation: Conversation,
        story: Vignette,
        said: str | None,
        defaults: dict[str, Any],
    ) -> None:
        self.conv, self.story, self.defaults = conversation, story, defaults
        self.result = Run(story, said)
        self.state = conversation.new_state(story.language)
        self.sent: list[Prompt] = list(conversation.opening(self.state, PLACES))
        self.tries: dict[str, int] = {}
        self.last: list[Prompt] = []  # the prompts of the latest turn

    def run(self) -> Run:
        """Play the story to its end and judge it."""
        for _ in range(MAX_TURNS):
            if self.state.ended or not self._turn():
                break
        self.result.level = priority(self.state.raised)
        self._judge()
        return self.result

    def _turn(self) -> bool:
        """One patient move; False when the story cannot go on."""
        step = self.state.step
        self.tries[step] = self.tries.get(step, 0) + 1
        if self.tries[step] > MAX_TRIES_PER_STEP:
            self.result.problems.append(f"stuck at step {step}")
            return False
        if self.state.pending_confirm is not None:
            yes = self.story.confirms(self.state.pending_confirm)
            self._send(ActionKind.CONFIRM, option=0 if yes else 1)
        elif step in self.story.before and self.tries[step] == 1:
            for text in self.story.before[step]:
                if self.state.ended or self.state.step != step:
                    break
                self._typed_before(step, self._fill(text))
        else:
            self._answer(step)
        return True

    def _typed_before(self, step: str, text: str) -> None:
        """Type `text` at `step`; a refusal must leave the intake on the same step."""
        prompts = self._send(ActionKind.TEXT, text=text)
        refusals = {self._message(k) for k in ("diagnosis_refusal", "advice_refusal")}
        if any(p.text in refusals for p in prompts) and self.state.step != step:
            self.result.problems.append(f"a refusal at {step} counted as an answer")

    def _answer(self, step_id: str) -> None:
        step = self.conv.flow.steps[step_id]
        value = self.story.answers.get(step_id, self.defaults.get(step_id))
        if step.answer.kind == "review":
            self._press("submit")
        elif step.answer.kind in ("choice", "yes_no", "scale"):
            self._press(str(value if value is not None else _first(step)))
        elif step.answer.kind == "multi":
            for item in value or [getattr(step.answer, "none", None) or _first(step)]:
                self._press(str(item), ActionKind.TOGGLE)
            self._send(ActionKind.DONE)
        else:
            self._send(ActionKind.TEXT, text=self._fill(str(value if value is not None else "no")))

    def _press(self, value: str, kind: ActionKind = ActionKind.CHOOSE) -> None:
        choices = self.conv.opening(self.state, PLACES)[0].choices
        index = next((i for i, c in enumerate(choices) if c.value == value), None)
        if index is None:
            self.result.problems.append(f"no button '{value}' at step {self.state.step}")
        else:
            self._send(kind, option=index)

    def _send(
        self, kind: ActionKind, *, text: str | None = None, option: int | None = None
    ) -> list[Prompt]:
        step_index = self.conv.fm.index[self.state.step]
        action = Action(kind, text=text, step_index=step_index, option_index=option)
        prompts = self.conv.handle(self.state, action, PLACES).prompts
        self.sent += prompts
        self.last = prompts
        return prompts

    def _fill(self, text: str) -> str:
        return text.replace("{say}", self.result.said or "")

    def _message(self, key: str) -> str:
        return self.conv.flow.message(key, self.story.language)

    def _judge(self) -> None:
        texts = {p.text for p in self.sent}
        for key in self.story.expect:
            if self._message(key) not in texts:
                self.result.problems.append(f"expected {key} was not sent")
        if self.state.status == "active":
            self.result.problems.append(f"the intake did not finish (at {self.state.step})")
        if self.state.status == "escalated" and not _escalation_first(self.last):
            self.result.problems.append(
                "the emergency message was not first, or a question followed"
            )
        for prompt in self.sent:
            if prompt.kind != PromptKind.REVIEW:  # the review screen quotes the patient
                self.result.leaks += diagnosis_words(self.conv.flow, prompt.text)


def _escalation_first(prompts: list[Prompt]) -> bool:
    """Whether a turn starts with an escalation and asks no question after it."""
    return (
        bool(prompts)
        and prompts[0].kind == PromptKind.ESCALATION
        and all(p.kind != PromptKind.QUESTION for p in prompts)
    )


def _first(step: Any) -> str:
    options = getattr(step.answer, "options", None)
    return str(options[0].value) if options else "0"


@dataclass(frozen=True)
class LevelTally:
    """Runs of stories expected at one level, and how many reached at least that level."""

    level: str
    runs: int
    caught: int  # reached the expected level or a more urgent one
    exact: int  # reached exactly the expected level

    @property
    def sensitivity(self) -> float:
        """Share of runs that reached at least the expected level."""
        return self.caught / self.runs if self.runs else 1.0


def tally(runs: list[Run]) -> list[LevelTally]:
    """One tally per level, most urgent first (routine: `caught` means not over-triaged)."""
    rank = {level: i for i, level in enumerate(LEVELS)}
    tallies = []
    for level in LEVELS:
        mine = [r for r in runs if r.vignette.level == level]
        caught = sum(rank[r.level] <= rank[level] for r in mine)
        if level == "routine":
            caught = sum(r.level == "routine" for r in mine)
        exact = sum(r.level == level for r in mine)
        tallies.append(LevelTally(level, len(mine), caught, exact))
    return tallies


def over_triaged(runs: list[Run]) -> list[Run]:
    """Routine stories that raised any flag."""
    return [r for r in runs if r.vignette.level == "routine" and r.level != "routine"]


def missed(runs: list[Run]) -> list[Run]:
    """Runs that stayed below their expected level."""
    return [r for r in runs if LEVELS.index(r.level) > LEVELS.index(r.vignette.level)]
