"""The safety vignettes through the Telegram front end, judged exactly as in process.

One real `Application` (`build_application`) long-polls the fake Bot API on loopback over the
real `IntakeService` and a SQLite file. Every run of every story (one per paraphrase) is a
different patient, and all of them play at once. A patient sees only what Telegram shows: the
newest message, its text and its buttons (a button's payload names the step and the option
index); it types where the story types and presses the button of the value where the story
names an option value. The bot's messages, as sent, form a transcript judged by
`tests.safety.player.judge`, the judge of the in-process run. Kinds are inferred from what a chat
shows: an escalation is a text equal to a flow red-flag message, a question has buttons (or is
a step prompt), the review screen has the review step's buttons. The level is the priority of
the review item the service queued, read from the database.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from bot.composition import build_services
from bot.telegram.keyboards import ANSWER_MARK
from flows.engine.conversation.buttons import ButtonAction, decode
from flows.engine.conversation.prompts import Placeholders
from flows.engine.conversation.values import ActionKind, PromptKind
from flows.engine.format.model import Flow
from flows.engine.safety.flags import priority
from storage.queue import priority_of
from storage.tables import IntakeSession, Patient, ReviewItem
from tests.bot.conftest import RunningBot, make_settings, start_bot, stop_bot
from tests.bot.fake_bot_api import Call, FakeBotApi
from tests.safety.player import (
    LEVELS,
    MAX_TURNS,
    BotMessage,
    Exchange,
    Move,
    Run,
    StoryPlayer,
    Transcript,
    Vignette,
    judge,
    load_vignettes,
    missed,
    option_values,
    over_triaged,
    tally,
)
from tests.safety.stories import SUITE

VIGNETTES, DEFAULTS = load_vignettes(SUITE)
PARAPHRASES: dict[str, list[str | None]] = {v.id: [*v.say] or [None] for v in VIGNETTES}
CASES = [(v, said) for v in VIGNETTES for said in PARAPHRASES[v.id]]
FIRST_USER = 50_000
# Every patient at once on one bot: each update is committed to the inbox before the next
# getUpdates, between the turns, so a backlog takes longer than the default wait on a busy
# machine. The judge, not the wait, is what this module tests.
SETTLE_SECONDS = 60.0
ANSWERED = f"\n\n{ANSWER_MARK}"
BUTTONS = {
    ActionKind.CHOOSE: ButtonAction.CHOOSE,
    ActionKind.TOGGLE: ButtonAction.SELECT,  # stories tick options
    ActionKind.CONFIRM: ButtonAction.CONFIRM,
    ActionKind.DONE: ButtonAction.DONE,
}
# Controls: stories that must fail, proving the Telegram judge can fail.
SILENT_EMERGENCY = Vignette(id="control_missed", level="emergency", story="says nothing urgent")
UNASKED_REFUSAL = Vignette(
    id="control_no_refusal", level="routine", story="never asks", expect=["diagnosis_refusal"]
)


@dataclass(frozen=True)
class FlowTexts:
    """What a chat's texts mean in the flow: red-flag messages, confirm questions, prompts."""

    flow: Flow
    escalations: dict[str, str]  # message text -> level
    confirms: dict[str, str]  # confirm question text -> flag id
    prompts: set[str]

    @classmethod
    def of(cls, flow: Flow, places: Placeholders, language: str = "en") -> FlowTexts:
        """The texts of `flow` in `language`, placeholders filled as the service fills them."""

        def text(value: Any) -> str:
            return places.fill(flow.text(value, language))

        asking = [s for s in flow.steps.values() if s.answer.kind not in ("info", "end", "review")]
        return cls(
            flow,
            {text(rule.message): rule.level.value for rule in flow.red_flags},
            {text(rule.confirm): rule.fact for rule in flow.screening.red_flags if rule.confirm},
            {text(step.prompt) for step in asking},
        )

    def kind(self, text: str, markup: dict[str, Any] | None, *, edit: bool) -> BotMessage:
        """A sent (or edited) message as a transcript entry, its kind inferred from the chat."""
        if text in self.escalations:
            return BotMessage(text, PromptKind.ESCALATION, level=self.escalations[text])
        button = _first_button(markup)
        if button is not None:
            step = list(self.flow.steps)[button.step_index]
            review = self.flow.steps[step].answer.kind == "review"
            return BotMessage(text, PromptKind.REVIEW if review else PromptKind.QUESTION, step)
        if not edit and any(text.endswith(prompt) for prompt in self.prompts):
            return BotMessage(text, PromptKind.QUESTION)
        return BotMessage(text, PromptKind.NOTICE)  # an answered question, a refusal, a note


class SharedSettle:
    """One `RunningBot.settle()` at a time for many patients, each awaiting one that covers it.

    A settle wakes on every Bot API call; a hundred patients each settling would all wake on
    every call. Here one task settles and the patients wait for it, then start a new one.
    """

    def __init__(self, bot: RunningBot) -> None:
        self.bot = bot
        self._task: asyncio.Future[None] | None = None
        self._covers = 0  # the newest update id injected before the task started

    async def settle(self, update_id: int) -> None:
        """Return once every update up to `update_id` has been fetched and handled."""
        while True:
            if self._task is None or (self._task.done() and self._covers < update_id):
                self._covers = self.bot.fake.last_update_id
                self._task = asyncio.ensure_future(self.bot.settle(SETTLE_SECONDS))
            task, covers = self._task, self._covers
            await asyncio.shield(task)
            if covers >= update_id:
                return


class TelegramPatient:
    """Plays one story in one private chat and records what the bot sent."""

    def __init__(
        self,
        bot: RunningBot,
        settler: SharedSettle,
        texts: FlowTexts,
        user: int,
        player: StoryPlayer,
    ) -> None:
        self.bot, self.fake, self.texts, self.settler = bot, bot.fake, texts, settler
        self.user, self.player = user, player
        self.transcript = Transcript()

    async def play(self) -> Transcript:
        """Start, play the story until the chat asks nothing more, read the recorded outcome."""
        self.transcript.opening = await self._exchange(
            lambda: self.fake.send_text(self.user, "/start")
        )
        for _ in range(MAX_TURNS):
            asked = self._asked()
            if asked is None:
                break
            step, confirming = asked
            moves = self.player.moves(self.texts.flow, step, confirming)
            if moves is None:
                break
            for move in moves:
                now = self._asked()
                if now is None or (move.before and now[0] != step):
                    break
                await self._make(step, move)
        self.transcript.problems = self.player.problems
        self.transcript.status, self.transcript.level = self._recorded()
        return self.transcript

    def _asked(self) -> tuple[str, str | None] | None:
        """The step the newest message asks (and the flag it confirms); None if it asks nothing."""
        messages = self.fake.messages_to(self.user)
        button = _first_button(messages[-1].reply_markup) if messages else None
        if button is None:
            return None
        step = list(self.texts.flow.steps)[button.step_index]
        confirming = messages[-1].text if button.action is ButtonAction.CONFIRM else None
        return step, self.texts.confirms.get(confirming) if confirming else None

    async def _make(self, step: str, move: Move) -> None:
        if move.kind is ActionKind.TEXT:
            replies = await self._exchange(lambda: self.fake.send_text(self.user, move.text or ""))
        else:
            data = self._button(step, move)
            if data is None:
                self.player.problems.append(f"no button '{move.value}' at step {step}")
                return
            message_id, payload = data
            replies = await self._exchange(lambda: self.fake.press(self.user, message_id, payload))
        self.transcript.exchanges.append(Exchange(move, step, replies))

    def _button(self, step: str, move: Move) -> tuple[int, str] | None:
        """The (message id, payload) of the button for `move` on the newest message."""
        question = self.fake.messages_to(self.user)[-1]
        confirm = move.kind is ActionKind.CONFIRM
        values = ["yes", "no"] if confirm else option_values(self.texts.flow, step)
        if move.value is not None and move.value not in values:
            return None
        index = values.index(move.value) if move.value is not None else 0
        for _, data in question.buttons:
            button = decode(data)
            found = button is not None and button.action is BUTTONS[move.kind]
            if found and button is not None and button.option_index == index:
                return question.message_id, data
        return None

    async def _exchange(self, act: Any) -> list[BotMessage]:
        """Do `act`, wait for the bot, return what it sent this chat meanwhile (edits too)."""
        seen = len(self.fake.calls)
        made = act()  # a typed message's id (int) or a pressed button's query id (str)
        await self.settler.settle(self.fake.last_update_id)
        return [m for call in self.fake.calls[seen:] if (m := self._entry(call, made)) is not None]

    def _entry(self, call: Call, made: int | str) -> BotMessage | None:
        params = call.params
        if call.method == "answerCallbackQuery" and params.get("callback_query_id") == made:
            return BotMessage(params["text"], PromptKind.NOTICE) if params.get("text") else None
        if call.chat_id != self.user or call.method not in ("sendMessage", "editMessageText"):
            return None
        text, markup = params["text"], params.get("reply_markup")
        if call.method == "editMessageText" and ANSWERED in text and isinstance(made, int):
            text = text.rpartition(ANSWERED)[0]  # the rest quotes what the patient typed
        return self.texts.kind(text, markup, edit=call.method == "editMessageText")

    def _recorded(self) -> tuple[str, str]:
        """The intake's status and the priority of its review item, as stored."""
        database = self.bot.services.database
        hashes = database.sealer.lookup_hashes(self.user)
        with database.transaction() as tx:
            patient = tx.exec(
                select(Patient).where(col(Patient.telegram_id_hash).in_(hashes))
            ).one()
            query = select(IntakeSession).where(IntakeSession.patient_id == patient.id)
            record = tx.exec(query.order_by(col(IntakeSession.id).desc())).first()
            assert record is not None
            item = tx.exec(select(ReviewItem).where(ReviewItem.session_id == record.id)).first()
            raised = database.sealer.unseal_json(record.state).get("raised", {})
            level = priority_of(item) if item else priority(raised)
            return record.status, level


def _first_button(markup: dict[str, Any] | None) -> Any:
    rows = (markup or {}).get("inline_keyboard", [])
    return decode(rows[0][0].get("callback_data", "")) if rows and rows[0] else None


@dataclass
class Suite:
    """Every run through Telegram, the controls, and the wall time of the whole replay."""

    runs: dict[str, Run]
    controls: dict[str, Run]
    seconds: float
    transcripts: list[Transcript]


async def play_all(db: Path) -> Suite:
    """Replay every story and the controls as concurrent patients of one running bot."""
    fake = FakeBotApi()
    await fake.start()
    services = build_services(make_settings(fake, db, emergency_number="999"))
    bot = await start_bot(fake, services)
    try:
        places = Placeholders(emergency_number=services.settings.emergency_number)
        texts = FlowTexts.of(services.registry.active, places)
        plays = [*CASES, (SILENT_EMERGENCY, None), (UNASKED_REFUSAL, None)]
        settler = SharedSettle(bot)
        started = time.perf_counter()
        transcripts = await asyncio.gather(
            *(
                TelegramPatient(
                    bot, settler, texts, FIRST_USER + n, StoryPlayer(v, s, DEFAULTS)
                ).play()
                for n, (v, s) in enumerate(plays)
            )
        )
        seconds = time.perf_counter() - started
        runs = [
            judge(texts.flow, v, s, t, places) for (v, s), t in zip(plays, transcripts, strict=True)
        ]
    finally:
        await stop_bot(bot)
        services.close()
        await fake.stop()
    stories, controls = runs[:-2], runs[-2:]
    return Suite(
        {r.name: r for r in stories},
        {r.vignette.id: r for r in controls},
        seconds,
        list(transcripts[:-2]),
    )


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Suite:
    """The whole suite played once for the module, on its own event loop and SQLite file."""
    return asyncio.run(play_all(tmp_path_factory.mktemp("vignettes") / "intake.db"))


def _name(story: Vignette, said: str | None) -> str:
    return f"{story.id} [{said}]" if said is not None else story.id


@pytest.mark.parametrize(
    ("story", "said"), CASES, ids=[f"{v.id}[{s}]" if s else v.id for v, s in CASES]
)
def test_story_reaches_its_level_on_telegram(
    suite: Suite, story: Vignette, said: str | None
) -> None:
    """Typed and tapped on Telegram, the story ends at exactly its level, cleanly, leak-free."""
    run = suite.runs[_name(story, said)]
    assert run.level == story.level
    assert run.problems == []
    assert run.leaks == []


def test_no_under_triage_and_no_leak_on_the_whole_suite(suite: Suite) -> None:
    """Every level's sensitivity is 100%, nothing over-triaged, no leak; 999 in each emergency."""
    runs = list(suite.runs.values())
    assert len(runs) == len(CASES)
    assert missed(runs) == []
    assert over_triaged(runs) == []
    assert sum(len(r.leaks) for r in runs) == 0
    counts = {t.level: (t.runs, t.caught) for t in tally(runs)}
    assert all(caught == total and total > 0 for total, caught in counts.values())
    assert set(counts) == set(LEVELS)
    print(f"\nTelegram vignettes: {counts} in {suite.seconds:.1f} s")
    urgent = [m.text for t in suite.transcripts for m in t.messages() if m.level == "emergency"]
    assert len(urgent) == counts["emergency"][0]
    assert all("999" in text for text in urgent)  # INTAKE_EMERGENCY_NUMBER, filled in


def test_the_telegram_judge_fails_stories_that_should_fail(suite: Suite) -> None:
    """A silent 'emergency' is missed and an unasked refusal is a problem, over Telegram too."""
    assert missed([suite.controls["control_missed"]])
    assert suite.controls["control_missed"].problems == []
    assert suite.controls["control_no_refusal"].problems == [
        "expected diagnosis_refusal was not sent"
    ]
