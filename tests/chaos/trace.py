"""Where a duplicate reply of a chaos run came from: the copies, the updates, the instances.

For each pair of identical messages sent one after the other to a patient (see `report`), the
trace lists both copies (when, relative to the start of the run), the patient's updates around
them, what the instances logged about those updates (event names and update ids only; the
harness stamps each line with the fake Bot API's clock), the kills and starts near, and which
code path most likely sent each copy: the first `turn.replied` (a live turn) or `reply.resent`
(a takeover resend) logged for one of the patient's updates just after the copy went out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from storage.tables import InboxUpdate

UPDATE_ID = re.compile(r"update_id=(\d+)")
SENDERS = ("turn.replied", "reply.resent")
AFTER_SEND = 3.0  # seconds from a copy going out to its sender's log line, at most
NEAR_KILL = 5.0  # seconds before the first copy in which a kill counts as near


@dataclass(frozen=True)
class Copy:
    """One copy of a doubled message: when it went out and who most likely sent it."""

    at: float
    sender: str  # e.g. "turn.replied 20001234 by instance 1", or "unknown"


@dataclass(frozen=True)
class Doubled:
    """A message sent twice in a row to one patient, traced."""

    user: int
    text: str
    first: Copy
    second: Copy
    kills: list[str]
    updates: list[str]
    logged: list[str]

    killed_after: float | None = None  # seconds from the first copy to the next kill (<= 1 s)

    @property
    def kind(self) -> str:
        """Why, in short: `kill-window` when an instance was killed within a second of the
        first copy going out (its reply went out, its record did not: the next owner resent
        it), else `crossing` (two updates' replies, both sent after both updates)."""
        return "kill-window" if self.killed_after is not None else "crossing"

    @property
    def senders(self) -> str:
        """The code paths of both copies (live/live, live/resent, ...)."""
        return "/".join(_path(c.sender) for c in (self.first, self.second))

    def lines(self, origin: float) -> list[str]:
        """The trace as readable lines, times relative to `origin`."""
        return [
            f"patient {self.user}: {self.text[:50]!r} sent at {self.first.at - origin:.2f} "
            f"({self.first.sender}) and {self.second.at - origin:.2f} ({self.second.sender}): "
            f"{self.kind}",
            f"  kills/starts near: {self.kills}",
            f"  patient's updates: {self.updates}",
            *(f"  {line}" for line in self.logged),
        ]


def _path(sender: str) -> str:
    if "turn.replied" in sender:
        return "live"
    if "reply.resent" in sender:
        return "resent"
    return "unknown"


@dataclass
class Tracer:
    """Traces doubled messages against the instances' logs, the fleet's events and the inbox."""

    trace: Sequence[tuple[float, int, str]]  # (when, instance, log line)
    events: Sequence[tuple[float, int, str]]  # (when, instance, "kill" | "start")
    rows: dict[int, InboxUpdate]
    origin: float
    what: dict[int, tuple[float, str]]  # update id -> (when sent, kind and text) (simulated)

    def doubled(
        self, user: int, text: str, first: float, second: float, updates: list[int]
    ) -> Doubled:
        """Trace one doubled message of `user` (whose update ids are `updates`)."""
        ids = set(updates)
        mine = [(t, i, line) for t, i, line in self.trace if _mentions(line, ids)]
        window = [
            f"{t - self.origin:.2f} instance {i}: {_event(line)}"
            for t, i, line in mine
            if first - 3.0 <= t <= second + AFTER_SEND
        ]
        kills = [
            f"{what} {i} at {t - self.origin:.2f}"
            for t, i, what in self.events
            if first - NEAR_KILL <= t <= second
        ]
        near = [u for u in updates if self._near(u, first, second)]
        after = [t - first for t, _, w in self.events if w == "kill" and -0.2 <= t - first <= 1.0]
        return Doubled(
            user,
            text,
            Copy(first, self._sender(mine, first)),
            Copy(second, self._sender(mine, second)),
            kills,
            [self._row(u) for u in near],
            window,
            min(after) if after else None,
        )

    def _sender(self, mine: list[tuple[float, int, str]], at: float) -> str:
        for t, i, line in mine:
            if at <= t <= at + AFTER_SEND and any(s in line for s in SENDERS):
                return f"{_event(line)} by instance {i}"
        return "unknown"

    def _near(self, update_id: int, first: float, second: float) -> bool:
        row = self.rows.get(update_id)
        return row is not None and any(
            abs(t - first) < 5 or abs(t - second) < 5
            for t, i, line in self.trace
            if f"update_id={update_id}" in line
        )

    def _row(self, update_id: int) -> str:
        row = self.rows[update_id]
        when, what = self.what.get(update_id, (self.origin, "?"))
        return f"{what} sent at {when - self.origin:.2f}: {row.status} owner={row.owner}"


def _mentions(line: str, ids: set[int]) -> bool:
    return any(int(m) in ids for m in UPDATE_ID.findall(line))


def _event(line: str) -> str:
    """The logger-free part of a log line: level and message (event name and ids)."""
    parts = line.split(" ", 2)
    return f"{parts[0]} {parts[2]}" if len(parts) == 3 else line
