"""A flow as a drawing that explains it: sections, conditions in words, red-flag exits.

`drawing_of` turns a flow into boxes and arrows: each step a box (its label, id and answer
kind; a conditional step dashed, with the condition it is asked on), each section a group,
each `next` branch an arrow labelled with its condition in words ("if consent = No,
thanks"), and every emergency flag an arrow from the step that decides it to the escalation
end. `mermaid` writes it as a Mermaid flowchart (GitHub renders it in Markdown) and `dot` as
Graphviz, for `dot -Tsvg` / `-Tpng`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from flows.engine.format.conditions import referenced_facts, referenced_steps
from flows.engine.format.model import Flow
from flows.engine.format.safety_rules import Level
from flows.engine.format.steps import Step
from flows.workbench.words import condition_words

ESCALATION = "escalation"
ESCALATION_LABEL = "EMERGENCY: the intake stops (also for red-flag words typed at any step)"
LEVEL_WORDS = {Level.SAME_DAY: "same-day", Level.SOON: "see-soon"}


@dataclass(frozen=True)
class Box:
    """One step (or the escalation end) as drawn."""

    id: str
    lines: tuple[str, ...]
    kind: str  # question, conditional, review, info, end, escalation
    section: str | None = None


@dataclass(frozen=True)
class Arrow:
    """A way from one box to another, with the condition it is taken on."""

    source: str
    target: str
    label: str = ""
    exit: bool = False  # a red-flag exit to the escalation end


@dataclass
class Drawing:
    """The boxes, groups and arrows of one flow."""

    title: str
    start: str
    sections: dict[str, str] = field(default_factory=dict)  # id -> title
    boxes: list[Box] = field(default_factory=list)
    arrows: list[Arrow] = field(default_factory=list)


def drawing_of(flow: Flow) -> Drawing:
    """The drawing of `flow`."""
    drawing = Drawing(f"{flow.id} v{flow.version}", flow.start)
    drawing.sections = {section.id: flow.text(section.title) for section in flow.sections}
    flags = _other_flags_by_step(flow)
    for step_id, step in flow.steps.items():
        drawing.boxes.append(_box(flow, step_id, step, flags.get(step_id, {})))
        drawing.arrows += _arrows(flow, step_id, step)
    exits = _emergency_exits(flow)
    if exits:
        drawing.boxes.append(Box(ESCALATION, (ESCALATION_LABEL,), ESCALATION))
        drawing.arrows += [Arrow(step, ESCALATION, ", ".join(ids), True) for step, ids in exits]
    return drawing


def _box(flow: Flow, step_id: str, step: Step, flags: dict[str, list[str]]) -> Box:
    title = flow.text(step.label) if step.label is not None else _first_line(flow, step)
    lines = [title, f"{step_id} · {step.kind}" + (" · optional" if step.optional else "")]
    if step.ask_when is not None:
        lines.append(f"only if {condition_words(step.ask_when, flow)}")
    for level, ids in flags.items():
        lines.append(f"⚑ {level}: {', '.join(ids)}")
    kind = step.kind if step.kind in ("review", "info", "end") else "question"
    if step.ask_when is not None:
        kind = "conditional"
    return Box(step_id, tuple(lines), kind, step.section)


def _first_line(flow: Flow, step: Step) -> str:
    line = flow.text(step.prompt).strip().splitlines()[0]
    return line if len(line) <= 50 else line[:49] + "…"


def _arrows(flow: Flow, step_id: str, step: Step) -> list[Arrow]:
    if step.next is None:
        return []
    if isinstance(step.next, str):
        return [Arrow(step_id, step.next)]
    return [
        Arrow(step_id, b.goto, f"if {condition_words(b.when, flow)}" if b.when else "otherwise")
        for b in step.next
    ]


def _deciding_step(flow: Flow, condition: object) -> str:
    """The step, last in flow order, whose answer a condition reads (where it is decided).

    A fact counts by the checklist answers that assert it; a fact only ever said in free text
    (screened at every step) is drawn at the start.
    """
    order = list(flow.steps)
    steps = {cmp.answer for cmp in referenced_steps(condition)}  # type: ignore[arg-type]
    facts = {fact.id: fact for fact in flow.facts}
    for check in referenced_facts(condition):  # type: ignore[arg-type]
        asserted = facts[check.fact].answers if check.fact in facts else None
        if asserted is not None:
            steps |= {cmp.answer for cmp in referenced_steps(asserted)}
    return max(steps, key=order.index) if steps else flow.start


def _emergency_exits(flow: Flow) -> list[tuple[str, list[str]]]:
    """Emergency flags by deciding step, and flags a modifier can raise to an emergency."""
    exits: dict[str, list[str]] = defaultdict(list)
    for rule in flow.red_flags:
        if rule.level == Level.EMERGENCY:
            exits[_deciding_step(flow, rule.when)].append(rule.id)
    for modifier in flow.modifiers:
        for rule in flow.red_flags:
            raised = rule.level.rank - modifier.raise_by <= 0
            if rule.id in modifier.flags and rule.level != Level.EMERGENCY and raised:
                step = _deciding_step(flow, rule.when)
                exits[step].append(f"{rule.id} with {modifier.id}")
    order = list(flow.steps)
    return sorted(exits.items(), key=lambda item: order.index(item[0]))


def _other_flags_by_step(flow: Flow) -> dict[str, dict[str, list[str]]]:
    """Same-day and see-soon flags by the step that decides them (the intake goes on)."""
    found: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for rule in flow.red_flags:
        if rule.level != Level.EMERGENCY:
            words = LEVEL_WORDS[rule.level]
            found[_deciding_step(flow, rule.when)][words].append(rule.id)
    return found


# --- Mermaid -----------------------------------------------------------------------------------

_MERMAID_SHAPES = {
    "end": ('(["', '"])'),
    "escalation": ('{{"', '"}}'),
    "review": ('[/"', '"/]'),
}
_MERMAID_CLASSES = {  # class names that are no Mermaid keyword (`end` is one)
    "conditional": "classDef conditional stroke-dasharray: 5 4",
    "end": "classDef finish fill:#e8f4e8,stroke:#2e7d32",
    "escalation": "classDef alarm fill:#fdecea,stroke:#c62828,color:#b71c1c",
}
_MERMAID_CLASS_NAMES = {"conditional": "conditional", "end": "finish", "escalation": "alarm"}


def mermaid(drawing: Drawing) -> str:
    """The drawing as a Mermaid flowchart, top to bottom."""
    lines = ["flowchart TD", f"  %% {drawing.title}", f"  start((start)) --> {_id(drawing.start)}"]
    grouped: dict[str | None, list[Box]] = defaultdict(list)
    for box in drawing.boxes:
        grouped[box.section if box.section in drawing.sections else None].append(box)
    for section, title in drawing.sections.items():
        if grouped.get(section):
            lines.append(f'  subgraph sec_{section}["{_escape(title)}"]')
            lines += [f"    {_mermaid_box(box)}" for box in grouped[section]]
            lines.append("  end")
    lines += [f"  {_mermaid_box(box)}" for box in grouped.get(None, [])]
    for arrow in drawing.arrows:
        link = "-.->" if arrow.exit else "-->"
        label = f'|"{_escape(arrow.label)}"|' if arrow.label else ""
        lines.append(f"  {_id(arrow.source)} {link}{label} {_id(arrow.target)}")
    lines += [f"  {line}" for line in _MERMAID_CLASSES.values()]
    return "\n".join(lines) + "\n"


def _mermaid_box(box: Box) -> str:
    opening, closing = _MERMAID_SHAPES.get(box.kind, ('["', '"]'))
    text = "<br/>".join(_escape(line) for line in box.lines)
    name = _MERMAID_CLASS_NAMES.get(box.kind)
    style = f":::{name}" if name else ""
    return f"{_id(box.id)}{opening}{text}{closing}{style}"


def _id(step_id: str) -> str:
    """A node id that is never a Mermaid keyword (a step may be called `end`)."""
    return step_id if step_id == ESCALATION else f"s_{step_id}"


def _escape(text: str) -> str:
    return text.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


# --- Graphviz ----------------------------------------------------------------------------------


def dot(drawing: Drawing) -> str:
    """The drawing in Graphviz's DOT language."""
    lines = [
        f"digraph {_quote(drawing.title)} {{",
        '  rankdir=TB; node [shape=box, style=rounded, fontname="Helvetica", fontsize=10];',
        '  edge [fontname="Helvetica", fontsize=9];',
        '  start [shape=circle, label="", width=0.2];',
        f"  start -> {_quote(_id(drawing.start))};",
    ]
    for section, title in drawing.sections.items():
        boxes = [box for box in drawing.boxes if box.section == section]
        if boxes:
            lines.append(f"  subgraph cluster_{section} {{ label={_quote(title)}; style=rounded;")
            lines += [f"    {_dot_box(box)}" for box in boxes]
            lines.append("  }")
    lines += [f"  {_dot_box(b)}" for b in drawing.boxes if b.section not in drawing.sections]
    for arrow in drawing.arrows:
        style = ', style=dashed, color="#c62828"' if arrow.exit else ""
        label = f"label={_quote(arrow.label)}" if arrow.label else 'label=""'
        lines.append(
            f"  {_quote(_id(arrow.source))} -> {_quote(_id(arrow.target))} [{label}{style}];"
        )
    lines.append("}")
    return "\n".join(lines) + "\n"


_DOT_STYLES = {
    "conditional": 'style="rounded,dashed"',
    "end": 'shape=box, style="rounded,filled", fillcolor="#e8f4e8"',
    "review": "shape=parallelogram",
    "escalation": 'shape=hexagon, style=filled, fillcolor="#fdecea", color="#c62828"',
}


def _dot_box(box: Box) -> str:
    style = _DOT_STYLES.get(box.kind, "")
    attributes = f"label={_quote(chr(10).join(box.lines))}" + (f", {style}" if style else "")
    return f"{_quote(_id(box.id))} [{attributes}];"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
