"""Which message of each chat asks the current question, so answers and edits can find it.

After a typed answer the question message is edited to show the answer. An edited patient
message counts as an answer only when it was sent while the current step was being asked:
its id is greater than that of the step's *first* question message (a re-ask after a typo sends
the question again, and the typo, now edited, still answers it). The mapping is held in
memory, bounded (least recently used chats are forgotten), with each question's text shared
by every chat it was sent to, and lost on restart: a forgotten
question simply keeps its buttons, and an edit is then only screened, never taken as an answer.
"""

from __future__ import annotations

import sys
from collections import OrderedDict
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Asked:
    """A question message: its id, its text as sent, whether it has buttons, and its step.

    `since` is the id of the first message that asked this step (itself unless re-asked);
    `language` is the language it was written in (for notices outside a turn).
    """

    message_id: int
    text: str
    has_buttons: bool = True
    step: str | None = None
    since: int = 0
    language: str | None = None


class QuestionMemory:
    """The last question message sent to each chat, for at most `capacity` chats."""

    def __init__(self, capacity: int = 100_000) -> None:
        self._capacity = capacity
        self._asked: OrderedDict[int, Asked] = OrderedDict()

    def __len__(self) -> int:
        return len(self._asked)

    def remember(self, chat_id: int, asked: Asked) -> None:
        """Record the question message just sent to a chat."""
        before = self._asked.get(chat_id)
        since = asked.message_id
        if before is not None and asked.step is not None and before.step == asked.step:
            since = min(before.since or before.message_id, since)
        # patients on the same step share one text (interned): the memory is not per patient
        text = sys.intern(asked.text)
        self._asked[chat_id] = Asked(
            asked.message_id, text, asked.has_buttons, asked.step, since, asked.language
        )
        self._asked.move_to_end(chat_id)
        if len(self._asked) > self._capacity:
            self._asked.popitem(last=False)

    def current(self, chat_id: int) -> Asked | None:
        """The chat's current question message, if known."""
        return self._asked.get(chat_id)

    def forget(self, chat_id: int, message_id: int | None = None) -> None:
        """Forget a chat's question (only if it is `message_id`, when given)."""
        asked = self._asked.get(chat_id)
        if asked is not None and (message_id is None or asked.message_id == message_id):
            del self._asked[chat_id]

    def answers_current(self, chat_id: int, message_id: int) -> bool:
        """Whether a patient message was sent while the current step was being asked."""
        asked = self._asked.get(chat_id)
        return asked is not None and message_id > (asked.since or asked.message_id)
