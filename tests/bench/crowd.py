"""The benchmark's patients: a crowd of simulated patients on the fake Bot API, in a child process.

The fake API and the crowd run in their own process so the bot under test has a core to itself,
as it would with Telegram far away. Each patient answers as soon as the bot's reply arrives
(a message or an edit that carries buttons, for the intake; the echo, for the echo bot), so
the bot always has work queued, and each turn's latency is measured from the update being
queued to the reply the patient acts on.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from flows.engine.format.model import Flow
from tests.bot.fake_bot_api import FakeBotApi, Sent
from tests.bot.simulated_patient import Press, SimulatedPatient

FIRST_USER = 10_000_000
BOOKING_MARKER = "bench.example/book"
STALL_SECONDS = 20.0  # no Bot API call for this long: the run is stuck, report it


@dataclass
class Crowd:
    """Simulated patients reacting to the bot's messages on one fake API."""

    fake: FakeBotApi
    patients: int
    flow: Flow | None  # None: echo patients
    echo_messages: int = 0
    latencies: list[float] = field(default_factory=list)
    updates: int = 0
    finished: set[int] = field(default_factory=set)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    _asked_at: dict[int, float] = field(default_factory=dict)
    _acted_on: dict[int, tuple[int, int]] = field(default_factory=dict)
    _sims: dict[int, SimulatedPatient] = field(default_factory=dict)
    _echoes: dict[int, int] = field(default_factory=dict)
    started: float = 0.0
    cpu_at_start: float = 0.0
    calls_at_start: int = 0
    ended: float = 0.0

    def begin(self) -> None:
        """Every patient sends their first message at once."""
        self.fake.on_send = self.on_bot_message
        self.started = time.monotonic()
        self.cpu_at_start = time.process_time()
        self.calls_at_start = len(self.fake.calls)
        for user in range(FIRST_USER, FIRST_USER + self.patients):
            if self.flow is not None:
                self._sims[user] = SimulatedPatient(user, self.flow, BOOKING_MARKER)
                self._send(user, "/start")
            else:
                self._echoes[user] = 0
                self._send(user, "hello 0")

    def on_bot_message(self, sent: Sent) -> None:
        """React to a message (or an edit) the bot sent to a patient."""
        user = sent.chat_id
        if user in self.finished or user not in self._asked_at:
            return
        if self.flow is None:
            if not sent.edits:  # an echo patient waits for a new message, not an edit
                self._echo_reply(user)
        elif BOOKING_MARKER in sent.text:
            self._record(user)
            self._finish(user)
        elif sent.buttons and self._acted_on.get(user) != (sent.message_id, sent.edits):
            self._acted_on[user] = (sent.message_id, sent.edits)
            self._record(user)
            self._intake_move(user)

    def report(self) -> dict[str, Any]:
        """Counts and timings of the run."""
        return {
            "fake_cpu": time.process_time() - self.cpu_at_start,
            "api_calls": sum(
                1 for c in self.fake.calls[self.calls_at_start :] if c.method != "getUpdates"
            ),
            "updates": self.updates,
            "seconds": self.ended - self.started,
            "latencies": self.latencies,
            "finished": len(self.finished),
        }

    def describe_stall(self) -> None:
        """Say which patients are stuck and what they last saw (the run then fails)."""
        stuck = [u for u in self._sims or self._echoes if u not in self.finished]
        print(f"stalled: {len(stuck)} patients waiting, e.g. {stuck[:3]}")
        for user in stuck[:3]:
            for sent in self.fake.messages_to(user)[-3:]:
                print(f"  {user} <- #{sent.message_id} edits={sent.edits} buttons={sent.buttons}")
                print(f"       {sent.text[:100]!r}")
        self.ended = time.monotonic()

    def _intake_move(self, user: int) -> None:
        move = self._sims[user].next_move(self.fake.messages_to(user))
        if move is None:
            self._finish(user)
        elif isinstance(move, Press):
            self._asked_at[user] = time.monotonic()
            self.fake.press(user, move.message_id, move.data)
            self.updates += 1
        else:
            self._send(user, move.text)

    def _echo_reply(self, user: int) -> None:
        self._record(user)
        self._echoes[user] += 1
        if self._echoes[user] >= self.echo_messages:
            self._finish(user)
        else:
            self._send(user, f"hello {self._echoes[user]}")

    def _send(self, user: int, text: str) -> None:
        self._asked_at[user] = time.monotonic()
        self.fake.send_text(user, text)
        self.updates += 1

    def _record(self, user: int) -> None:
        asked = self._asked_at.pop(user, None)
        if asked is not None:
            self.latencies.append(time.monotonic() - asked)

    def _finish(self, user: int) -> None:
        self.finished.add(user)
        self._asked_at.pop(user, None)
        if len(self.finished) == self.patients:
            self.ended = time.monotonic()
            self.done.set()


def run_crowd(conn: Connection, patients: int, echo_messages: int, flow: Flow | None) -> None:
    """Child process entry: serve the fake API, wait for "go", run the crowd, send the report."""
    asyncio.run(_serve(conn, patients, echo_messages, flow))


async def settle_crowd(crowd: Crowd, fake: FakeBotApi) -> bool:
    """Wait until the crowd is done; False (the stall described) if the bot makes no Bot API
    call for `STALL_SECONDS`."""
    while not crowd.done.is_set():
        calls = len(fake.calls)
        try:
            await asyncio.wait_for(crowd.done.wait(), STALL_SECONDS)
        except TimeoutError:
            if len(fake.calls) == calls:
                crowd.describe_stall()
                return False
    return True


async def _serve(conn: Connection, patients: int, echo_messages: int, flow: Flow | None) -> None:
    fake = FakeBotApi()
    await fake.start()
    conn.send(fake.port)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, conn.recv)  # "go": the bot is polling
    crowd = Crowd(fake, patients, flow, echo_messages)
    crowd.begin()
    await settle_crowd(crowd, fake)
    conn.send(crowd.report())
    await loop.run_in_executor(None, conn.recv)  # the bot has stopped
    await fake.stop()
