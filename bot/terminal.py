"""The terminal chat: the same turns as Telegram, rendered as numbered options on stdout.

Reads stdin line by line, so a transcript can be piped in; ends cleanly at end of input or
/quit. Options are answered by number or label; multi-select by numbers separated by commas.
The patient's language is the one given (`chat --lang es`), as Telegram's app language would
be; `/language` lists the flow's languages (answer with a number) and `/language es` switches.
/mydata prints everything stored about the terminal's patient; /delete asks first (1 or the
yes label deletes, anything else keeps) and then erases it, as on Telegram.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TextIO

from flows.engine.conversation.values import (
    Action,
    ActionKind,
    Inbound,
    Profile,
    Prompt,
    PromptKind,
    Turn,
)
from flows.intake.service import IntakeService

TERMINAL_USER_ID = 1
COMMANDS = {
    "/back": ActionKind.BACK,
    "/restart": ActionKind.RESTART,
    "/help": ActionKind.HELP,
    "/status": ActionKind.STATUS,
    "/start": ActionKind.START,
    "/cancel": ActionKind.CANCEL,
    "/skip": ActionKind.SKIP,
    "/language": ActionKind.LANGUAGE,
}


class TerminalChat:
    """One patient's intake in a terminal."""

    def __init__(
        self,
        service: IntakeService,
        *,
        out: TextIO,
        user_id: int = TERMINAL_USER_ID,
        language: str | None = None,
    ) -> None:
        self.service = service
        self.out = out
        self.user_id = user_id
        self.profile = Profile(language=language)
        self.language = language
        self.last: Prompt | None = None
        self.session_id: int | None = None
        self.confirming_delete = False

    def run(self, lines: Iterable[str], *, echo: bool = False) -> None:
        """Open the intake, then answer each input line until it runs out or /quit."""
        self.send(Action(ActionKind.START))
        for raw in lines:
            line = raw.rstrip("\r\n")
            if echo:
                self.out.write(f"> {line}\n")
            if line.strip() == "/quit":
                break
            if not self.patient_command(line):
                self.send(self.action_for(line))

    def patient_command(self, line: str) -> bool:
        """Handle /mydata, /delete and its confirmation; False for anything else."""
        word, patients = line.strip().lower(), self.service.patients
        if self.confirming_delete:
            self.confirming_delete = False
            if word in ("1", self._text("delete_yes").lower()):
                deletion = patients.delete(user_id=self.user_id, language=self.language)
                self.session_id = None
                self._write(deletion.message)
            else:
                self._write(self._text("delete_kept"))
            return True
        if word == "/mydata":
            self._write("\n".join(patients.copy(user_id=self.user_id, language=self.language)))
            return True
        if word == "/delete":
            self.confirming_delete = True
            options = [self._text(key) for key in ("delete_yes", "delete_no")]
            listed = "".join(f"  {n}. {label}\n" for n, label in enumerate(options, start=1))
            self._write(self._text("delete_confirm") + "\n" + listed.rstrip("\n"))
            return True
        return False

    def _text(self, key: str) -> str:
        return self.service.message(key, self.language)

    def _write(self, text: str) -> None:
        self.out.write(text + "\n\n")
        self.out.flush()

    def action_for(self, line: str) -> Action:
        """The action a typed line stands for."""
        word, _, rest = line.strip().lower().partition(" ")
        kind = COMMANDS.get(word)
        if kind == ActionKind.LANGUAGE:
            return self._language_action(rest.strip())
        if kind is None:
            picked = self._picked_language(line.strip())
            return picked or Action(ActionKind.TEXT, text=line, language=self.language)
        if kind == ActionKind.SKIP:
            index = self.last.step_index if self.last else None
            return Action(kind, session_id=self.session_id, step_index=index)
        return Action(kind)

    def _language_action(self, code: str) -> Action:
        """`/language` asks which; `/language es` picks one of the flow's languages."""
        languages = self.service.languages
        if code not in languages:
            return Action(ActionKind.LANGUAGE)
        return self._pick(languages.index(code))

    def _picked_language(self, line: str) -> Action | None:
        """A number typed under the /language question picks that language."""
        if self.last is None or self.last.answer_kind != "language" or not line.isdigit():
            return None
        index = int(line) - 1
        return self._pick(index) if 0 <= index < len(self.last.choices) else None

    def _pick(self, index: int) -> Action:
        return Action(ActionKind.LANGUAGE, session_id=self.session_id or 0, option_index=index)

    def send(self, action: Action) -> Turn:
        """Run one turn and print its prompts."""
        inbound = Inbound(user_id=self.user_id, action=action, profile=self.profile)
        turn = self.service.handle_sync(inbound)
        if turn.session_id is not None:
            self.session_id = turn.session_id
        self.language = turn.language or self.language
        prompts = turn.prompts or ((self.last,) if turn.stale and self.last else ())
        for prompt in prompts:
            self.print_prompt(prompt)
        return turn

    def print_prompt(self, prompt: Prompt) -> None:
        """Write one prompt: progress, text, numbered options."""
        if prompt.kind == PromptKind.ESCALATION:
            self.out.write("!! ")
        if prompt.progress is not None:
            n, total = prompt.progress
            progress = self.service.message("progress", self.language)
            self.out.write(f"[{progress.format(n=n, total=total)}]\n")
        self.out.write(prompt.text + "\n")
        if prompt.answer_kind == "scale":
            self.out.write("  " + " · ".join(c.label for c in prompt.choices) + "\n")
        else:
            for number, choice in enumerate(prompt.choices, start=1):
                mark = "[x] " if choice.selected else ("[ ] " if prompt.multi else "")
                self.out.write(f"  {number}. {mark}{choice.label}\n")
        if prompt.step is not None:
            self.last = prompt
        self.out.write("\n")
        self.out.flush()


def run_terminal(
    service: IntakeService, stdin: TextIO = sys.stdin, *, language: str | None = None
) -> None:
    """Run the terminal chat on stdin/stdout, for a patient whose language is `language`."""
    chat = TerminalChat(service, out=sys.stdout, language=language)
    chat.run(stdin, echo=not stdin.isatty())
