"""Rate-limiting the audit rows of denied clinician commands.

Someone not on the clinician list who sends /queue a thousand times must not write a thousand
audit rows (nor cost a thousand transactions). Each actor gets at most one `access.denied` row
per `per_actor` seconds, and all actors together at most `overall` rows per minute; what is held
back is counted and reported in the next row that is written ("(+12 more)"). State is kept in
memory per process and bounded, so a flood of distinct senders cannot grow it without limit.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

PER_ACTOR_SECONDS = 60.0
OVERALL_PER_MINUTE = 30
REMEMBERED_ACTORS = 10_000


class DenialLimiter:
    """Decides which denied attempts get an audit row."""

    def __init__(
        self,
        *,
        per_actor: float = PER_ACTOR_SECONDS,
        overall: int = OVERALL_PER_MINUTE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_actor = per_actor
        self.overall = overall
        self.clock = clock
        self._last: OrderedDict[str, float] = OrderedDict()
        self._held: dict[str, int] = {}
        self._recent: deque[float] = deque()
        self._lock = threading.Lock()

    def admit(self, actor: str) -> int | None:
        """None to hold this attempt back; else how many were held back before it."""
        now = self.clock()
        with self._lock:
            while self._recent and now - self._recent[0] >= 60.0:
                self._recent.popleft()
            last = self._last.get(actor)
            if (last is not None and now - last < self.per_actor) or len(
                self._recent
            ) >= self.overall:
                self._held[actor] = self._held.get(actor, 0) + 1
                return None
            self._last[actor] = now
            self._last.move_to_end(actor)
            while len(self._last) > REMEMBERED_ACTORS:
                gone, _ = self._last.popitem(last=False)
                self._held.pop(gone, None)
            self._recent.append(now)
            return self._held.pop(actor, 0)
