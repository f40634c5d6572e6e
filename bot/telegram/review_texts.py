"""What clinicians see on Telegram besides summaries: card buttons, queue lines, counts.

Buttons carry `r:<action>:<item id>` (far below Telegram's 64 bytes): Claim, Reviewed, Full
answers; Open is a deep link (`t.me/<bot>?start=review_<id>`) that opens the item in the
pressing clinician's private chat with the bot. The queue in the review chat names no flags
(a group is no place for health data); in a private chat it does.
"""

from __future__ import annotations

from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions
from telegram.helpers import create_deep_linked_url

from flows.engine.records.record import ReviewRecord, priority_words, timestamp

BUTTON_LABELS = {"claim": "Claim", "done": "Reviewed", "full": "Full answers", "open": "Open"}
BUTTON_PATTERN = r"^r:(claim|done|full):(\d+)$"
OPEN_PREFIX = "review_"
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def open_link(bot_username: str, item_id: int) -> str:
    """The deep link opening an item in the clinician's private chat with the bot."""
    return create_deep_linked_url(bot_username, f"{OPEN_PREFIX}{item_id}")


def review_keyboard(
    item_id: int, buttons: Sequence[str], bot_username: str | None = None
) -> InlineKeyboardMarkup | None:
    """The buttons (open, claim, done, full) as one row, or None for none."""
    row = []
    for name in buttons:
        if name == "open":
            if bot_username:
                url = open_link(bot_username, item_id)
                row.append(InlineKeyboardButton(BUTTON_LABELS[name], url=url))
            continue
        data = f"r:{name}:{item_id}"
        row.append(InlineKeyboardButton(BUTTON_LABELS[name], callback_data=data))
    return InlineKeyboardMarkup([row]) if row else None


def queue_text(records: Sequence[ReviewRecord], page: int, *, with_flags: bool) -> str:
    """The /queue reply: one line per pending item, most urgent first (the first `page`; flags
    only privately)."""
    if not records:
        return "The queue is empty."
    more = len(records) > page
    head = f"Pending: more than {page}, the {page} most urgent:" if more else None
    lines = [head or f"Pending: {len(records)}"]
    for r in records[:page]:
        flags = ", ".join(f.id for f in r.red_flags) if with_flags else ""
        lines.append(
            f"#{r.item_id} {priority_words(r.priority)} · queued {timestamp(r.queued_at)}"
            + (f" · flags: {flags}" if flags else "")
        )
    return "\n".join(lines)


def stats_text(counts: dict[tuple[str, str], int]) -> str:
    """The /stats reply: items per status, and pending ones per priority."""
    statuses: dict[str, int] = {}
    for (status, _), n in counts.items():
        statuses[status] = statuses.get(status, 0) + n
    lines = ["Review items:"] + [f"{s}: {n}" for s, n in sorted(statuses.items())]
    for priority in ("emergency", "same_day", "soon", "routine"):
        n = counts.get(("pending", priority), 0)
        if n:
            lines.append(f"pending {priority_words(priority)}: {n}")
    return "\n".join(lines)
