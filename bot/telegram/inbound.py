"""Turning a Telegram update into the channel-neutral `Inbound` the intake service takes."""

from __future__ import annotations

from telegram import Update

from flows.engine.conversation.buttons import Button, ButtonAction
from flows.engine.conversation.values import Action, ActionKind, Inbound, Profile

BUTTON_KINDS = {
    ButtonAction.CHOOSE: ActionKind.CHOOSE,
    ButtonAction.TOGGLE: ActionKind.TOGGLE,
    ButtonAction.SELECT: ActionKind.SELECT,
    ButtonAction.CLEAR: ActionKind.CLEAR,
    ButtonAction.DONE: ActionKind.DONE,
    ButtonAction.BACK: ActionKind.BACK,
    ButtonAction.SKIP: ActionKind.SKIP,
    ButtonAction.CONFIRM: ActionKind.CONFIRM,
    ButtonAction.LANGUAGE: ActionKind.LANGUAGE,
}


def inbound_from(update: Update, action: Action, source: str | None = None) -> Inbound:
    """The service's view of an update from a patient: who, which update, what they did."""
    user = update.effective_user
    if user is None:
        raise ValueError(f"update {update.update_id} has no user")
    profile = Profile(
        display_name=user.full_name, username=user.username, language=user.language_code
    )
    return Inbound(
        user_id=user.id, action=action, update_id=update.update_id, profile=profile, source=source
    )


def button_action(button: Button) -> Action | None:
    """The action a pressed intake button stands for (None for transport-level buttons)."""
    kind = BUTTON_KINDS.get(button.action)
    if kind is None:
        return None
    return Action(
        kind,
        session_id=button.session_id,
        step_index=button.step_index,
        option_index=button.option_index,
        language=button.language,
    )


def language_of(update: Update) -> str | None:
    """The language the patient's Telegram app is set to, if it says."""
    user = update.effective_user
    return user.language_code if user is not None else None
