"""The patients of a chaos run and the way Telegram delivers their updates to a webhook.

Patients are `SimulatedPatient`s reacting to the bot's messages on the fake Bot API: each answer
is made when the question arrives. Some answers come in a burst with an edit of one of the
patient's earlier messages (only screened by the bot), so two updates of one patient are in
flight at once and may reach different instances. A patient who gets nothing for
`NUDGE_SECONDS` after their last update was acknowledged sends /start, as a person would (a
reply can die with an instance killed between the commit and the send).

`Telegram` posts each update to the webhook the way Telegram does: one patient's updates in the
order they were sent (the next one only after the previous was acknowledged with 200), repeated
until acknowledged, and each one 1-3 times in all: the repeats go out at random moments, often
after later updates.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from flows.engine.conversation.buttons import ButtonAction, decode
from flows.engine.format.model import Flow
from tests.bot.fake_bot_api import FakeBotApi, Sent
from tests.bot.simulated_patient import Press, SimulatedPatient, Type
from tests.chaos.fleet import SECRET

BOOKING_MARKER = "book.chaos.example"
NUDGE_SECONDS = 20.0
BURST_CHANCE = 0.3
FIRST_USER = 20_000_000


@dataclass
class Telegram:
    """Delivers updates to the webhook URL: in order per patient, repeated, acknowledged."""

    url: str
    rng: random.Random
    acked: set[int] = field(default_factory=set)
    sent_at: dict[int, float] = field(default_factory=dict)
    posts: int = 0
    repeats: int = 0
    refused: int = 0  # answers other than 200 (posted again)
    _queues: dict[int, asyncio.Queue[dict[str, Any]]] = field(default_factory=dict)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _session: aiohttp.ClientSession | None = None
    _busy: int = 0

    async def start(self) -> None:
        """Open the HTTP client."""
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=300), timeout=aiohttp.ClientTimeout(total=90)
        )

    async def stop(self) -> None:
        """Stop delivering and close the client."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    @property
    def idle(self) -> bool:
        """Whether nothing waits to be posted."""
        return self._busy == 0 and all(q.empty() for q in self._queues.values())

    def send(self, chat: int, update: dict[str, Any]) -> None:
        """Queue an update of `chat` for delivery."""
        self.sent_at[update["update_id"]] = time.monotonic()
        queue = self._queues.get(chat)
        if queue is None:
            queue = self._queues[chat] = asyncio.Queue()
            self._spawn(self._deliver(queue))
        queue.put_nowait(update)

    def unacked(self, chat_updates: list[int]) -> bool:
        """Whether any of these updates still waits for its 200."""
        return any(u not in self.acked for u in chat_updates)

    async def _deliver(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        while True:
            update = await queue.get()
            self._busy += 1
            try:
                await self._post_until_acknowledged(update)
            finally:
                self._busy -= 1
            for _ in range(self.rng.choice((0, 1, 2))):
                self._spawn(self._repeat(update, self.rng.uniform(0.0, 3.0)))

    async def _repeat(self, update: dict[str, Any], delay: float) -> None:
        await asyncio.sleep(delay)
        self.repeats += 1
        self._busy += 1
        try:
            await self._post_until_acknowledged(update)
        finally:
            self._busy -= 1

    async def _post_until_acknowledged(self, update: dict[str, Any]) -> None:
        body = json.dumps(update).encode()
        headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET}
        wait = 0.2
        while True:
            assert self._session is not None
            self.posts += 1
            try:
                async with self._session.post(self.url, data=body, headers=headers) as reply:
                    status = reply.status
            except (aiohttp.ClientError, TimeoutError):
                status = 0
            if status == 200:
                self.acked.add(update["update_id"])
                return
            self.refused += 1
            await asyncio.sleep(wait)
            wait = min(wait * 2, 2.0)

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


@dataclass
class Patient:
    """One simulated patient's state in the crowd."""

    sim: SimulatedPatient
    last_step: tuple[str, bool] | None = None  # (step, confirming) last answered
    last_message: int | None = None
    acted_on: tuple[int, int] | None = None
    progress_at: float = 0.0
    typed: list[tuple[int, str]] = field(default_factory=list)  # (message id, text)
    updates: list[int] = field(default_factory=list)
    finished: bool = False
    nudged_at: list[float] = field(default_factory=list)
    sent: list[tuple[float, str]] = field(default_factory=list)  # (when, what): for the notes

    @property
    def nudges(self) -> int:
        """How often the patient had to send /start to get going again."""
        return len(self.nudged_at)


@dataclass
class Crowd:
    """Patients on the fake Bot API whose updates go out through `Telegram`."""

    fake: FakeBotApi
    telegram: Telegram
    flow: Flow
    rng: random.Random
    size: int
    patients: dict[int, Patient] = field(default_factory=dict)
    bursts: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def begin(self) -> None:
        """Route the fake's injected updates to Telegram; every patient sends /start."""
        self.fake.inject = self._inject  # type: ignore[method-assign]
        self.fake.on_send = self.on_bot_message
        now = time.monotonic()
        for user in range(FIRST_USER, FIRST_USER + self.size):
            sim = SimulatedPatient(user, self.flow, BOOKING_MARKER)
            self.patients[user] = Patient(sim, progress_at=now)
            self._type(user, "/start")

    @property
    def finished(self) -> int:
        """How many patients have the booking link."""
        return sum(p.finished for p in self.patients.values())

    def on_bot_message(self, sent: Sent) -> None:
        """React to a message (or an edit) the bot sent a patient."""
        patient = self.patients.get(sent.chat_id)
        if patient is None or patient.finished:
            return
        patient.progress_at = time.monotonic()
        if BOOKING_MARKER in sent.text:
            patient.finished = True
            if self.finished == self.size:
                self.done.set()
            return
        if not sent.buttons or patient.acted_on == (sent.message_id, sent.edits):
            return
        key = (_step_of(patient.sim, sent), _confirming(sent))
        if key == patient.last_step and sent.message_id != patient.last_message:
            return  # the same question again (a late reply): already answered
        patient.acted_on = (sent.message_id, sent.edits)
        patient.last_step, patient.last_message = key, sent.message_id
        self._move(sent.chat_id, patient)

    async def nudge_the_stuck(self) -> None:
        """Forever: a patient waiting too long with everything acknowledged sends /start."""
        while True:
            await asyncio.sleep(1.0)
            now = time.monotonic()
            for user, patient in self.patients.items():
                stuck = now - patient.progress_at > NUDGE_SECONDS
                if patient.finished or not stuck or self.telegram.unacked(patient.updates):
                    continue
                patient.nudged_at.append(now)
                patient.last_step = patient.acted_on = None
                patient.progress_at = now
                self._type(user, "/start")

    def _move(self, user: int, patient: Patient) -> None:
        move = patient.sim.next_move(self.fake.messages_to(user))
        if move is None:
            return
        if isinstance(move, Press):
            self.fake.press(user, move.message_id, move.data)
            return
        assert isinstance(move, Type)
        self._type(user, move.text)
        if len(patient.typed) > 1 and self.rng.random() < BURST_CHANCE:
            self.bursts += 1
            message_id, text = self.rng.choice(patient.typed[:-1])
            self.fake.edit_text(user, message_id, text)  # only screened: changes nothing

    def _type(self, user: int, text: str) -> None:
        message_id = self.fake.send_text(user, text)
        if not text.startswith("/"):
            self.patients[user].typed.append((message_id, text))

    def _inject(self, update: dict[str, Any]) -> int:
        update_id = next(self.fake._update_ids)
        full = {"update_id": update_id, **update}
        chat = _chat_of(full)
        self.patients[chat].updates.append(update_id)
        kind = next(iter(update))
        what = update[kind].get("text") or update[kind].get("data", "")
        self.patients[chat].sent.append((time.monotonic(), f"{update_id} {kind} {what[:30]!r}"))
        self.telegram.send(chat, full)
        return update_id


def _chat_of(update: dict[str, Any]) -> int:
    for key in ("message", "edited_message"):
        if key in update:
            return int(update[key]["chat"]["id"])
    return int(update["callback_query"]["message"]["chat"]["id"])


def _step_of(sim: SimulatedPatient, sent: Sent) -> str:
    button = decode(sent.buttons[0][1])
    return sim.step_ids[button.step_index] if button is not None else "?"


def _confirming(sent: Sent) -> bool:
    return any(
        (b := decode(data)) is not None and b.action is ButtonAction.CONFIRM
        for _, data in sent.buttons
    )
