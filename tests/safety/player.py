"""Safety vignettes replayed and judged: the story's moves, a neutral transcript, its judge.

A run presses buttons and types text exactly as the story's patient would (`StoryPlayer`
decides the moves at each step, for any front end) and records a `Transcript`: the patient's
moves and the bot's messages, each with its kind as far as the front end can tell, plus the
status and review level the front end recorded. `judge` checks a transcript the same way
whatever produced it: the level reached, the refusals expected, a refusal never counting as an
answer, an emergency message first with no question after it, the announced level matching
the recorded one, no stuck step, and no message that ties a condition to the patient. This
module replays stories against the engine in process; the Telegram tests replay them through
the real bot. The stories themselves live in `tests.safety.stories`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flows.engine.conversation.prompts import Placeholders
from flows.engine.conversation.turns import Conversation
from flows.engine.conversation.values import Action, ActionKind, Prompt, PromptKind
from flows.engine.format.model import Flow
from flows.engine.safety.flags import priority
from flows.engine.safety.wording import advice_words, diagnosis_words
from tests.safety.stories import (
    LEVELS,
    SUITE,
    LevelTally,
    Run,
    Vignette,
    load_vignettes,
    missed,
    over_triaged,
    tally,
)

__all__ = [
    "LEVELS",
    "MAX_TURNS",
    "PLACES",
    "SUITE",
    "BotMessage",
    "Exchange",
    "LevelTally",
    "Move",
    "Run",
    "StoryPlayer",
    "Transcript",
    "Vignette",
    "judge",
    "load_vignettes",
    "missed",
    "option_values",
    "over_triaged",
    "replay",
    "replay_all",
    "tally",
]

MAX_TURNS = 400
MAX_TRIES_PER_STEP = 4
PLACES = Placeholders(booking_url="https://book.example/precision", emergency_number="112")
REFUSALS = (
    "diagnosis_refusal",
    "diagnosis_refusal_named",
    "serious_refusal",
    "advice_refusal",
    "test_refusal",
)


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
    transcript = _EngineReplay(conversation, StoryPlayer(story, said, defaults)).run()
    return judge(conversation.flow, story, said, transcript, PLACES)


# --- the story's moves, whatever the transport ----------------------------------------------


@dataclass(frozen=True, slots=True)
class Move:
    """One patient move: typed text, or the button of an option value (CHOOSE, TOGGLE, ...)."""

    kind: ActionKind
    text: str | None = None
    value: str | None = None
    before: bool = False  # typed before answering the step (judged for refusals)


class StoryPlayer:
    """Decides a story's moves at each step as its patient would, for any front end."""

    def __init__(self, story: Vignette, said: str | None, defaults: dict[str, Any]) -> None:
        self.story, self.said, self.defaults = story, said, defaults
        self.tries: dict[str, int] = {}
        self.problems: list[str] = []

    def moves(self, flow: Flow, step: str, confirming: str | None) -> list[Move] | None:
        """The moves at `step` (answering the confirm question of `confirming`); None: stuck."""
        self.tries[step] = self.tries.get(step, 0) + 1
        if self.tries[step] > MAX_TRIES_PER_STEP:
            self.problems.append(f"stuck at step {step}")
            return None
        if confirming is not None:
            return [
                Move(ActionKind.CONFIRM, value="yes" if self.story.confirms(confirming) else "no")
            ]
        if step in self.story.before and self.tries[step] == 1:
            return [
                Move(ActionKind.TEXT, self.fill(t), before=True) for t in self.story.before[step]
            ]
        return self._answer(flow, step)

    def fill(self, text: str) -> str:
        """`text` with the paraphrase in place of `{say}`."""
        return text.replace("{say}", self.said or "")

    def _answer(self, flow: Flow, step_id: str) -> list[Move]:
        step = flow.steps[step_id]
        value = self.story.answers.get(step_id, self.defaults.get(step_id))
        kind = step.answer.kind
        if kind == "review":
            return [Move(ActionKind.CHOOSE, value="submit")]
        if kind in ("choice", "yes_no", "scale"):
            return [
                Move(ActionKind.CHOOSE, value=str(value if value is not None else _first(step)))
            ]
        if kind == "multi":
            items = value or [getattr(step.answer, "none", None) or _first(step)]
            return [Move(ActionKind.TOGGLE, value=str(i)) for i in items] + [Move(ActionKind.DONE)]
        return [Move(ActionKind.TEXT, self.fill(str(value if value is not None else "no")))]


def option_values(flow: Flow, step_id: str) -> list[str]:
    """The option values of a step's buttons, in the order button indexes refer to."""
    spec = flow.steps[step_id].answer
    if spec.kind == "yes_no":
        return ["yes", "no"]
    if spec.kind == "scale":
        return [str(n) for n in range(11)]
    if spec.kind == "review":
        return ["submit", "change"]
    return [o.value for o in getattr(spec, "options", [])]


# --- the transcript and its judge -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BotMessage:
    """One message the bot sent, with its kind as far as the front end can tell."""

    text: str
    kind: PromptKind
    step: str | None = None  # the step a question asks, when known
    level: str | None = None  # the level an escalation announces


@dataclass
class Exchange:
    """One patient move at a step and the bot's messages in reply."""

    move: Move
    step: str
    replies: list[BotMessage]


@dataclass
class Transcript:
    """A replayed story in transport-neutral form, with the outcome the front end recorded."""

    opening: list[BotMessage] = field(default_factory=list)
    exchanges: list[Exchange] = field(default_factory=list)
    status: str = "active"  # active, completed, escalated
    level: str = "routine"  # the review level recorded for the intake
    problems: list[str] = field(default_factory=list)  # met while playing (stuck, no button)

    def messages(self) -> list[BotMessage]:
        """Every bot message, in order."""
        return self.opening + [m for e in self.exchanges for m in e.replies]


def judge(
    flow: Flow, story: Vignette, said: str | None, transcript: Transcript, places: Placeholders
) -> Run:
    """Judge a transcript: level, expected refusals, refusals kept in place, escalation, leaks."""
    run = Run(story, said, level=transcript.level, problems=list(transcript.problems))
    patterns = {k: refusal_pattern(flow, k, story.language, places) for k in REFUSALS}
    texts = [m.text for m in transcript.messages()]
    for key in story.expect:
        if not any(patterns[key].fullmatch(text) for text in texts):
            run.problems.append(f"expected {key} was not sent")
    for exchange in transcript.exchanges:
        asked = [m.step for m in exchange.replies if m.kind == PromptKind.QUESTION]
        refused = any(p.fullmatch(m.text) for m in exchange.replies for p in patterns.values())
        if exchange.move.before and refused and asked[-1:] != [exchange.step]:
            run.problems.append(f"a refusal at {exchange.step} counted as an answer")
    run.problems += _outcome_problems(transcript)
    for message in transcript.messages():
        if message.kind != PromptKind.REVIEW:  # the review screen quotes the patient
            run.leaks += diagnosis_words(flow, message.text)
            run.advice += advice_words(message.text)
        run.refusals += any(p.fullmatch(message.text) for p in patterns.values())
    return run


def refusal_pattern(flow: Flow, key: str, language: str, places: Placeholders) -> re.Pattern[str]:
    """A refusal message as a pattern: '{condition}' stands for the patient's words."""
    text = places.fill(flow.message(key, language))
    parts = [re.escape(part) for part in text.split("{condition}")]
    return re.compile(".{1,80}".join(parts), re.DOTALL)


def _outcome_problems(transcript: Transcript) -> list[str]:
    problems = []
    last = transcript.exchanges[-1] if transcript.exchanges else None
    if transcript.status == "active":
        problems.append(f"the intake did not finish (at {last.step if last else '?'})")
    if transcript.status == "escalated" and not _escalation_first(last.replies if last else []):
        problems.append("the emergency message was not first, or a question followed")
    announced = priority({str(i): m.level for i, m in enumerate(transcript.messages()) if m.level})
    if announced != transcript.level:
        problems.append(
            f"the messages announced {announced}, the intake recorded {transcript.level}"
        )
    return problems


def _escalation_first(replies: list[BotMessage]) -> bool:
    """Whether a reply starts with an escalation and asks no question after it."""
    return (
        bool(replies)
        and replies[0].kind == PromptKind.ESCALATION
        and all(m.kind != PromptKind.QUESTION for m in replies)
    )


# --- the engine as the front end ------------------------------------------------------------


class _EngineReplay:
    """Plays one story against a fresh in-memory intake state and records its transcript."""

    def __init__(self, conversation: Conversation, player: StoryPlayer) -> None:
        self.conv, self.player = conversation, player
        self.state = conversation.new_state(player.story.language)
        opening = conversation.opening(self.state, PLACES)
        self.transcript = Transcript(opening=[_message(p) for p in opening])

    def run(self) -> Transcript:
        """Play the story to its end."""
        for _ in range(MAX_TURNS):
            step = self.state.step
            if self.state.ended:
                break
            moves = self.player.moves(self.conv.flow, step, self.state.pending_confirm)
            if moves is None:
                break
            for move in moves:
                if self.state.ended or (move.before and self.state.step != step):
                    break
                self._make(step, move)
        self.transcript.status = self.state.status
        self.transcript.level = priority(self.state.raised)
        self.transcript.problems = self.player.problems
        return self.transcript

    def _make(self, step: str, move: Move) -> None:
        option = self._option(move)
        if move.value is not None and option is None:
            self.player.problems.append(f"no button '{move.value}' at step {step}")
            return
        index = self.conv.fm.index[step]
        action = Action(move.kind, text=move.text, step_index=index, option_index=option)
        prompts = self.conv.handle(self.state, action, PLACES).prompts
        self.transcript.exchanges.append(Exchange(move, step, [_message(p) for p in prompts]))

    def _option(self, move: Move) -> int | None:
        if move.kind == ActionKind.CONFIRM:
            return 0 if move.value == "yes" else 1
        choices = self.conv.opening(self.state, PLACES)[0].choices
        return next((i for i, c in enumerate(choices) if c.value == move.value), None)


def _message(prompt: Prompt) -> BotMessage:
    return BotMessage(prompt.text, prompt.kind, prompt.step, prompt.level)


def _first(step: Any) -> str:
    options = getattr(step.answer, "options", None)
    return str(options[0].value) if options else "0"
