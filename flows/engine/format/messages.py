"""The flow's patient-facing sentences that are not step prompts (`Messages`, every one
required), and the variants for channels without buttons (`TypedMessages`).
"""

from __future__ import annotations

from pydantic import Field

from flows.engine.format.fields import Strict, Text


class Messages(Strict):
    """Every patient-facing sentence that is not a step prompt. Placeholders in braces."""

    yes: Text
    no: Text
    back: Text
    skip: Text
    done: Text
    submit: Text
    change: Text
    none_selected: Text
    progress: Text = Field(description="Placeholders: {n}, {total}.")
    invalid_choice: Text
    invalid_multi: Text
    invalid_multi_none: Text
    invalid_scale: Text
    invalid_number: Text = Field(description="Placeholders: {min}, {max}.")
    invalid_yes_no: Text
    text_empty: Text
    text_too_long: Text = Field(description="Placeholder: {max}.")
    invalid_duration: Text
    review_intro: Text
    review_change: Text
    review_empty_answer: Text
    resume: Text
    restarted: Text
    nothing_to_undo: Text
    help: Text
    finished: Text
    diagnosis_refusal: Text = Field(description="A 'do I have ...?' with no condition named.")
    diagnosis_refusal_named: Text = Field(description="Placeholder: {condition}.")
    serious_refusal: Text = Field(description="Placeholder: {emergency_number}.")
    advice_refusal: Text
    test_refusal: Text
    minor: Text = Field(
        description="Under the minimum age; nothing is stored. Placeholders: {age}, "
        "{emergency_number}."
    )
    contact_offer: Text = Field(description="Offer to share a phone number for a call-back.")
    contact_button: Text
    contact_saved: Text
    contact_not_own: Text
    confirm_yes: Text
    confirm_no: Text
    unsupported_input: Text
    private_only: Text
    stale_button: Text
    status: Text = Field(description="Placeholders: {n}, {total}.")
    no_intake: Text
    cancelled: Text
    delete_confirm: Text
    delete_yes: Text
    delete_no: Text
    deleted: Text
    deleted_kept: Text = Field(description="Placeholders: {count}, {until}.")
    delete_kept: Text
    declined_data_kept: Text
    mydata_header: Text
    mydata_profile: Text = Field(description="Placeholders: {name}, {username}.")
    mydata_intake: Text = Field(description="Placeholder: {date}.")
    mydata_words: Text = Field(description="Before the patient's words behind red flags.")
    mydata_callback: Text = Field(description="Placeholder: {phone}.")
    mydata_empty: Text
    not_available: Text
    blocked_until_consent: Text
    choose_many: Text = Field(description="How to answer a multi-select question (after its text).")
    choose_many_or_none: Text = Field(
        description="The same, for a multi-select with a 'none' option. Placeholder: {none}."
    )
    language_prompt: Text = Field(description="Asks which language to carry on in (/language).")
    language_changed: Text = Field(description="Says the intake carries on in this language.")
    language_name: Text = Field(description="Each language's name, written in that language.")
    duration_days: Text = Field(description="Placeholder: {n}. One|more: '1 day|{n} days'.")
    duration_weeks: Text = Field(description="Placeholder: {n}. One|more: '1 week|{n} weeks'.")
    duration_months: Text = Field(description="Placeholder: {n}. One|more.")
    duration_years: Text = Field(description="Placeholder: {n}. One|more.")
    menu_start: Text = Field(description="Telegram command menu: /start.")
    menu_back: Text = Field(description="Telegram command menu: /back.")
    menu_status: Text = Field(description="Telegram command menu: /status.")
    menu_help: Text = Field(description="Telegram command menu: /help.")
    menu_restart: Text = Field(description="Telegram command menu: /restart.")
    menu_cancel: Text = Field(description="Telegram command menu: /cancel.")
    menu_language: Text = Field(description="Telegram command menu: /language.")
    menu_mydata: Text = Field(description="Telegram command menu: /mydata.")
    menu_delete: Text = Field(description="Telegram command menu: /delete.")
    turn_failed: Text = Field(
        description="A turn failed: the clinic has not received the message. Placeholder: "
        "{emergency_number} (required)."
    )
    flag_recorded: Text = Field(
        description="After a red flag raised by text sent after the intake ended: it was added "
        "to the intake and a clinician will be told."
    )
    intake_closed: Text = Field(
        description="Text sent after an intake was closed for being idle too long."
    )


class TypedMessages(Strict):
    """Messages for channels without buttons (the terminal chat), where they say how to answer.

    Each replaces the `messages` entry of the same name there; one left out keeps that entry.
    """

    choose_many: Text | None = None
    choose_many_or_none: Text | None = None
    invalid_choice: Text | None = None
    invalid_multi: Text | None = None
    invalid_multi_none: Text | None = None
    invalid_scale: Text | None = None
    invalid_yes_no: Text | None = None
    blocked_until_consent: Text | None = None
