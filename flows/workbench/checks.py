"""Checking a run against its scenario's `expect`: each divergence names the step it came from.

A flag raised at the wrong level names the step it was raised at; a flag never raised, a step
never asked or a text never shown names the step the intake ended (or stopped) at. Texts
given as references (`{message: ...}`, `{prompt: ...}`, `{flag: ...}`) are the flow's own words,
so a scenario keeps passing when the wording changes; placeholders in them match anything.
"""

from __future__ import annotations

import re

from flows.engine.format.fields import Text
from flows.engine.format.model import Flow
from flows.engine.format.safety_rules import Level
from flows.workbench.runs import Run
from flows.workbench.scenario import Expect, FlagText, MessageText, PromptText, TextRef

_PLACEHOLDER = re.compile(r"\{\w+\}")


def check(run: Run, flow: Flow) -> None:
    """Record on `run` every way it differs from its scenario's expectations."""
    expect = run.loaded.scenario.expect
    if run.failures:  # the run stopped early: its outcome says nothing more
        return
    if expect.end is not None and expect.end != run.end:
        run.fail(_line(run, "end"), run.end_step, "end", expect.end, run.end)
    if expect.flags is not None:
        _check_flags(run, expect)
    if expect.priority is not None and expect.priority != run.priority:
        run.fail(_line(run, "priority"), _top_step(run), "priority", expect.priority, run.priority)
    _check_steps(run, expect)
    _check_texts(run, expect, flow)


def _check_flags(run: Run, expect: Expect) -> None:
    wanted = {flag: level.value for flag, level in (expect.flags or {}).items()}
    for flag, level in wanted.items():
        raised = run.raised.get(flag)
        line = _line(run, "flags", flag)
        if raised is None:
            run.fail(line, run.end_step, f"flag {flag}", level, "not raised")
        elif raised.level != level:
            run.fail(line, raised.step, f"flag {flag}", level, raised.level)
    for flag, raised in run.raised.items():
        if flag not in wanted:
            run.fail(_line(run, "flags"), raised.step, f"flag {flag}", "not raised", raised.level)


def _check_steps(run: Run, expect: Expect) -> None:
    for index, step in enumerate(expect.asks):
        if step not in run.asked:
            run.fail(_line(run, "asks", index), run.end_step, f"step {step}", "asked", "not asked")
    for index, step in enumerate(expect.never_asks):
        if step in run.asked:
            line = _line(run, "never_asks", index)
            run.fail(line, step, f"step {step}", "never asked", "asked")


def _check_texts(run: Run, expect: Expect, flow: Flow) -> None:
    for key, refs in (("shows", expect.shows), ("never_shows", expect.never_shows)):
        for index, ref in enumerate(refs):
            line = _line(run, key, index)
            pattern = _pattern(ref, flow, run.loaded.scenario.language)
            if pattern is None:
                run.fail(line, None, "text reference", f"a text of {flow.id}", _name(ref))
                continue
            seen = next((step for step, text in run.shown if pattern.search(text)), None)
            if key == "shows" and seen is None:
                run.fail(line, run.end_step, "text", f"shown: {_name(ref)}", "never shown")
            elif key == "never_shows" and seen is not None:
                run.fail(line, seen, "text", f"never shown: {_name(ref)}", "shown")


def _pattern(ref: TextRef, flow: Flow, language: str | None) -> re.Pattern[str] | None:
    """A literal text (any case), or the flow's text with its placeholders matching anything."""
    if isinstance(ref, str):
        return re.compile(re.escape(ref), re.IGNORECASE)
    text = _referenced(ref, flow)
    if text is None:
        return None
    pieces = _PLACEHOLDER.split(flow.text(text, language))
    return re.compile(".+?".join(re.escape(piece) for piece in pieces), re.DOTALL)


def _referenced(ref: MessageText | PromptText | FlagText, flow: Flow) -> Text | None:
    if isinstance(ref, MessageText):
        found: Text | None = getattr(flow.messages, ref.message, None)
        return found if ref.message in type(flow.messages).model_fields else None
    if isinstance(ref, PromptText):
        step = flow.steps.get(ref.prompt)
        return step.prompt if step is not None else None
    return next((rule.message for rule in flow.red_flags if rule.id == ref.flag), None)


def _name(ref: TextRef) -> str:
    if isinstance(ref, str):
        return repr(ref)
    return " ".join(f"{key}: {value}" for key, value in ref.model_dump().items())


def _top_step(run: Run) -> str:
    ranked = sorted(run.raised.values(), key=lambda raised: Level(raised.level).rank)
    return ranked[0].step if ranked else run.end_step


def _line(run: Run, *path: str | int) -> int:
    return run.loaded.line("expect", *path)
