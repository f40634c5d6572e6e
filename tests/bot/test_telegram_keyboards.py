"""Rendering prompts as inline keyboards: which buttons, in which rows, with which payloads."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.telegram import keyboards
from bot.telegram.keyboards import (
    InlineKeyboard,
    Labels,
    keyboard_rows,
    prompt_keyboard,
    prompt_text,
)
from flows.engine.conversation.buttons import Button, ButtonAction, decode, encode
from flows.engine.conversation.values import Choice, Prompt, PromptKind

LABELS = Labels(back="Back", skip="Skip", done="Done", progress="Question {n} of about {total}")


def rows(markup: InlineKeyboard | None) -> list[list[tuple[str, str]]]:
    """(label, callback data) per row."""
    assert markup is not None
    return keyboard_rows(markup)


def question(**fields: object) -> Prompt:
    """A question prompt at step index 3 with the given fields."""
    return Prompt(text="Q?", kind=PromptKind.QUESTION, step="s", step_index=3, **fields)  # type: ignore[arg-type]


def test_multi_select_options_tick_or_untick_as_shown_then_done() -> None:
    """Selected options carry a check mark and untick; the others tick; Done follows."""
    prompt = question(
        answer_kind="multi",
        multi=True,
        choices=(Choice("a", "Bloating", True), Choice("b", "Pain"), Choice("n", "None")),
    )
    got = rows(prompt_keyboard(prompt, 42, LABELS))

    assert [label for row in got for label, _ in row] == ["✅ Bloating", "Pain", "None", "Done"]
    actions = [decode(data) for row in got for _, data in row]
    assert [a.action for a in actions if a] == [
        ButtonAction.CLEAR,
        ButtonAction.SELECT,
        ButtonAction.SELECT,
        ButtonAction.DONE,
    ]
    assert {(a.session_id, a.step_index) for a in actions if a} == {(42, 3)}


def test_confirm_questions_use_confirm_payloads_yes_first() -> None:
    """A "Did you mean ...?" question answers with CONFIRM, option 0 yes and 1 no."""
    prompt = question(answer_kind="confirm", choices=(Choice("yes", "Yes"), Choice("no", "No")))
    buttons = [decode(data) for row in rows(prompt_keyboard(prompt, 5, LABELS)) for _, data in row]

    assert [(b.action, b.option_index) for b in buttons if b] == [
        (ButtonAction.CONFIRM, 0),
        (ButtonAction.CONFIRM, 1),
    ]


def test_back_and_skip_share_the_last_row_and_long_labels_get_a_row_each() -> None:
    """Long option labels stand one per row; Back and Skip come last, side by side."""
    prompt = question(
        answer_kind="choice",
        choices=(Choice("a", "Every day or most days"), Choice("b", "A few times a week")),
        can_back=True,
        can_skip=True,
    )
    got = rows(prompt_keyboard(prompt, 1, LABELS))

    assert [[label for label, _ in row] for row in got] == [
        ["Every day or most days"],
        ["A few times a week"],
        ["Back", "Skip"],
    ]


def test_before_consent_buttons_carry_session_zero() -> None:
    """With no session yet (consent), payloads name session 0."""
    prompt = question(
        answer_kind="choice", choices=(Choice("agree", "I agree"), Choice("no", "No"))
    )
    buttons = [
        decode(data) for row in rows(prompt_keyboard(prompt, None, LABELS)) for _, data in row
    ]

    assert {b.session_id for b in buttons if b} == {0}


def test_before_consent_buttons_carry_their_language() -> None:
    """Buttons shown before consent name the language they are in; a session's do not."""
    prompt = question(answer_kind="choice", choices=(Choice("agree", "Acepto"), Choice("n", "No")))
    before = [
        decode(d) for row in rows(prompt_keyboard(prompt, None, LABELS, "es")) for _, d in row
    ]
    during = [decode(d) for row in rows(prompt_keyboard(prompt, 42, LABELS, "es")) for _, d in row]

    assert {(b.session_id, b.language) for b in before if b} == {(0, "es")}
    assert {(b.session_id, b.language) for b in during if b} == {(42, None)}


def test_language_payloads_are_checked() -> None:
    """A language on a session's button, or a malformed one, makes the payload unreadable."""
    assert decode("c:0:3:1:es-MX") == Button(ButtonAction.CHOOSE, 0, 3, 1, "es-MX")
    assert encode(Button(ButtonAction.CHOOSE, 0, 3, 1, "es")) == "c:0:3:1:es"
    assert decode("c:5:3:1:es") is None  # only session 0 carries a language
    assert decode("c:0:3:1:espanol") is None
    assert decode("c:0:3:1:es:x") is None


def test_language_questions_use_language_payloads() -> None:
    """The /language question's buttons say LANGUAGE, with the language's index as option."""
    prompt = question(
        answer_kind="language", choices=(Choice("en", "English"), Choice("es", "Español"))
    )
    buttons = [decode(d) for row in rows(prompt_keyboard(prompt, 9, LABELS)) for _, d in row]

    assert [(b.action, b.option_index) for b in buttons if b] == [
        (ButtonAction.LANGUAGE, 0),
        (ButtonAction.LANGUAGE, 1),
    ]


def test_plain_messages_have_no_keyboard_and_questions_show_progress() -> None:
    """A notice renders without buttons; a question's text starts with its progress line."""
    assert prompt_keyboard(Prompt(text="Thanks"), 7, LABELS) is None
    assert prompt_text(question(progress=(3, 20)), LABELS) == "Question 3 of about 20\n\nQ?"


LABEL = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=30)


@settings(max_examples=200)
@given(
    labels=st.lists(LABEL, min_size=1, max_size=11),
    selected=st.lists(st.booleans(), min_size=11, max_size=11),
    kind=st.sampled_from(["single", "multi", "scale", "confirm", "language"]),
    back=st.booleans(),
    skip=st.booleans(),
    sessions=st.lists(st.integers(1, 2**40), min_size=2, max_size=4),
)
def test_a_reused_keyboard_is_the_one_built_for_the_session(
    labels: list[str],
    selected: list[bool],
    kind: str,
    back: bool,
    skip: bool,
    sessions: list[int],
) -> None:
    """Keyboards cut once per prompt give every session exactly the keyboard built for it."""
    choices = tuple(Choice(f"v{i}", label, selected[i]) for i, label in enumerate(labels))
    multi = kind == "multi"
    prompt = question(answer_kind=kind, multi=multi, choices=choices, can_back=back, can_skip=skip)
    assert keyboards._template(prompt, LABELS) is not None  # reused, not built again
    for session in sessions:
        got = prompt_keyboard(prompt, session, LABELS)
        assert got == keyboards._keyboard(prompt, session, LABELS)
        payloads = [decode(data) for row in rows(got) for _, data in row]
        assert {p.session_id for p in payloads if p is not None} == {session}


def test_a_label_holding_the_payload_separator_still_gets_its_own_keyboard() -> None:
    """Labels with colons, tildes and quotes: the payloads still name the patient's session."""
    prompt = question(choices=(Choice("a", 'a:1:~"x"~'), Choice("b", "~~")), can_back=True)
    first, second = prompt_keyboard(prompt, 7, LABELS), prompt_keyboard(prompt, 8, LABELS)
    assert first == keyboards._keyboard(prompt, 7, LABELS)
    assert second == keyboards._keyboard(prompt, 8, LABELS)
    assert [label for row in rows(second) for label, _ in row] == ['a:1:~"x"~', "~~", "Back"]
