"""Which message of each chat asks the current question, so answers and edits can find it.

After a typed answer the question message is edited to show the answer; an edited patient
message counts as an answer only when it is newer than the question. The mapping is held in
memory, bounded (least recently used chats are forgotten), and lost on restart: a forgotten
question simply keeps its buttons, and an edit is then only screened, never taken as an answer.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Asked:
    """A question message: its id, its text as sent, and whether it carries buttons."""

    message_id: int
    text: str
    has_buttons: bool = True


class QuestionMemory:
    """The last question message sent to each chat, for at most `capacity` chats."""

    def __init__(self, capacity: int = 100_000) -> None:
        self._capacity = capacity
        self._asked: OrderedDict[int, Asked] = OrderedDict()

    def __len__(self) -> int:
        return len(self._asked)

    def remember(self, chat_id: int, asked: Asked) -> None:
        """Record the question message just sent to a chat."""
        self._asked[chat_id] = asked
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
