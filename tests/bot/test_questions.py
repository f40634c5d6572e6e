"""The question memory: bounded, and one shared text per question however many chats see it."""

from __future__ import annotations

from bot.telegram.questions import Asked, QuestionMemory


def test_chats_asked_the_same_question_share_its_text() -> None:
    """Texts equal in content (built separately, as each send builds them) are kept once."""
    memory = QuestionMemory()
    for chat in (1, 2):
        text = "".join(["Step 3 of 30\n\n", "How often do you have pain?"])  # a new object
        memory.remember(chat, Asked(100 + chat, text, step="pain"))
    first, second = memory.current(1), memory.current(2)
    assert first is not None
    assert second is not None
    assert first.text == "Step 3 of 30\n\nHow often do you have pain?"
    assert first.text is second.text


def test_the_least_recently_asked_chat_is_forgotten_past_capacity() -> None:
    memory = QuestionMemory(capacity=2)
    for chat in (1, 2, 3):
        memory.remember(chat, Asked(chat, "q"))
    assert len(memory) == 2
    assert memory.current(1) is None
    assert memory.current(3) is not None
