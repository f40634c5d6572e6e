"""Loading flow files: YAML and schema mistakes reported with file and line, never a traceback."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows.engine.format.problems import FlowError, Problem
from flows.engine.loading.loader import load_flow_file, load_flow_text, load_flows_dir
from tests.flows.conftest import FlowText

DAMAGE = [
    "next: [",
    "when: yes",
    "answer: {kind: multi}",
    "answer: {kind: choice, options: [a, b]}",
    "next: [{goto: 5}]",
    "prompt: {EN: x}",
    "- {when: {all: []}, goto: age}",
    "- {when: {not: {answer: age}}, goto: age}",
    "equals: [1, 2]",
    "label: !!binary aGk=",
    "<<: *nothing",
    "{}",
    "? [a, b]\n  : c",
    "steps: 3",
]


def problems_of(text: str, file: str = "mini.yaml") -> list[Problem]:
    """The problems reported for flow `text` (it must report some)."""
    with pytest.raises(FlowError) as caught:
        load_flow_text(text, file=file)
    return caught.value.problems


def test_loaded_flow_keeps_source_and_digest(flow_text: FlowText) -> None:
    """A loaded flow carries its exact text, the text's sha256 and the file name."""
    loaded = load_flow_text(flow_text.text, file="mini.yaml")
    assert loaded.source == flow_text.text
    assert loaded.digest == hashlib.sha256(flow_text.text.encode()).hexdigest()
    assert (loaded.file, loaded.flow.id, loaded.flow.version) == ("mini.yaml", "mini", 1)


def test_yaml_syntax_error_has_its_line(flow_text: FlowText) -> None:
    """A YAML syntax error names the file and the line where parsing failed."""
    bad = flow_text.replace("label: Age", "label: [Age")
    [problem] = problems_of(bad.text)
    assert problem.file == "mini.yaml"
    assert problem.line == bad.line_of("label: [Age") + 1
    assert problem.message.startswith("YAML syntax:")


def test_duplicate_key_is_a_syntax_problem(flow_text: FlowText) -> None:
    """A key written twice in one mapping is reported at the second one."""
    bad = flow_text.replace("    label: Age\n", "    label: Age\n    label: Years\n")
    [problem] = problems_of(bad.text)
    assert problem.line == bad.line_of("label: Years")
    assert "duplicate key" in problem.message


def test_unknown_key_has_its_line(flow_text: FlowText) -> None:
    """A misspelt key is reported at its own line with the path of its mapping."""
    bad = flow_text.replace("    label: Age\n", "    label: Age\n    hint: Years\n")
    [problem] = problems_of(bad.text)
    assert problem.line == bad.line_of("hint: Years")
    assert problem.message == "steps.age: unknown key 'hint'"
    assert problem.step == "age"


def test_unknown_key_in_a_flow_mapping(flow_text: FlowText) -> None:
    """An unknown key inside `{...}` points at that line and names the answer path."""
    bad = flow_text.replace("max: 110,", "maxx: 110,")
    messages = {(p.line, p.message) for p in problems_of(bad.text)}
    line = bad.line_of("maxx: 110")
    assert (line, "steps.age.answer: unknown key 'maxx'") in messages
    assert (line, "steps.age.answer: missing key 'max'") in messages


def test_wrong_type_has_its_line(flow_text: FlowText) -> None:
    """A value of the wrong type is reported at its key, with what was found."""
    bad = flow_text.replace("min: 16,", "min: sixteen,")
    [problem] = problems_of(bad.text)
    assert problem.line == bad.line_of("min: sixteen")
    assert problem.message.startswith("steps.age.answer.min: input should be a valid integer")
    assert "got 'sixteen'" in problem.message


def test_unknown_answer_kind_lists_the_kinds(flow_text: FlowText) -> None:
    """An unknown answer kind is named, with the kinds to choose from."""
    bad = flow_text.replace("kind: scale,", "kind: slider,")
    [problem] = problems_of(bad.text)
    assert problem.line == bad.line_of("kind: slider")
    assert "unknown answer kind 'slider' (choose one of choice, multi, scale" in problem.message


def test_condition_typo_is_reported_once(flow_text: FlowText) -> None:
    """A mistake in a condition gives one problem, not one per kind of condition."""
    bad = flow_text.replace(
        "{answer: symptoms, includes: pain}", "{answer: symptoms, include: pain}"
    )
    problems = problems_of(bad.text)
    assert [(p.line, p.message) for p in problems] == [
        (bad.line_of("include: pain"), "steps.severity.ask_when: unknown key 'include'")
    ]


def test_condition_without_operator(flow_text: FlowText) -> None:
    """A comparison with no operator says which operators exist."""
    bad = flow_text.replace("{answer: symptoms, includes: pain}", "{answer: symptoms}")
    [problem] = problems_of(bad.text)
    assert problem.line == bad.line_of("ask_when: {answer: symptoms}")
    assert problem.message.startswith(
        "steps.severity.ask_when: a condition on 'symptoms' needs exactly one operator"
    )


def test_nested_condition_mistake_is_located(flow_text: FlowText) -> None:
    """A mistake inside `all: [...]` is reported once, at the inner comparison's key."""
    bad = flow_text.replace("{answer: severity, gte: 9}", "{answer: severity, gte: high}")
    [problem] = problems_of(bad.text)
    assert problem.line == bad.line_of("gte: high")
    assert problem.message.startswith("red_flags.0.when.all.0.gte: input should be a valid number")


def test_text_of_the_wrong_shape(flow_text: FlowText) -> None:
    """A text that is neither a string nor a mapping of languages says what it expects."""
    bad = flow_text.replace("label: Age", "label: [Age]")
    [problem] = problems_of(bad.text)
    assert problem.line == bad.line_of("label: [Age]")
    assert problem.message == "steps.age.label: expected a text or a mapping, got a list"


def test_bad_step_id_is_explained(flow_text: FlowText) -> None:
    """A step id breaking the id pattern is explained in words."""
    bad = flow_text.replace("  declined:", "  Declined:")
    messages = [(p.line, p.message) for p in problems_of(bad.text)]
    expected = "steps: key 'Declined' is not an id (lowercase letters, digits and _, starting"
    assert any(line == bad.line_of("Declined:") and expected in text for line, text in messages)


def test_python_tags_are_refused(flow_text: FlowText) -> None:
    """A YAML tag asking for a Python object is refused, not constructed."""
    bad = flow_text.replace("label: Age", "label: !!python/object/apply:os.getcwd []")
    [problem] = problems_of(bad.text)
    assert problem.line == bad.line_of("label: !!python")
    assert "YAML tag '!!python/object/apply:os.getcwd' is not allowed" in problem.message


def test_dates_are_not_text(flow_text: FlowText) -> None:
    """A value YAML reads as a date must be quoted to be text."""
    bad = flow_text.replace("label: Age", "label: 2026-11-25")
    [problem] = problems_of(bad.text)
    assert problem.line == bad.line_of("label: 2026")
    assert "quote it" in problem.message


@pytest.mark.parametrize("text", ["", "- a list\n", "just text\n"])
def test_document_must_be_a_mapping(text: str) -> None:
    """An empty file or a non-mapping document is one clear problem at line 1."""
    [problem] = problems_of(text)
    assert (problem.line, problem.message) == (
        1,
        "a flow file must be a mapping (id, version, steps...)",
    )


def test_missing_file(tmp_path: Path) -> None:
    """A file that does not exist is a FlowError naming it, not an OSError."""
    path = tmp_path / "absent.yaml"
    with pytest.raises(FlowError) as caught:
        load_flow_file(path)
    [problem] = caught.value.problems
    assert (problem.file, problem.line) == (str(path), 1)
    assert "does not exist" in problem.message


def test_directory_instead_of_file(tmp_path: Path) -> None:
    """A directory given as a flow file is a FlowError too."""
    with pytest.raises(FlowError) as caught:
        load_flow_file(tmp_path)
    assert "is a directory" in caught.value.problems[0].message


def test_file_problems_name_the_file(tmp_path: Path, flow_text: FlowText) -> None:
    """Problems of a file on disk carry its path."""
    path = tmp_path / "bad.yaml"
    path.write_text(flow_text.replace("next: symptoms", "next: nowhere").text, encoding="utf-8")
    with pytest.raises(FlowError) as caught:
        load_flow_file(path)
    assert str(caught.value).startswith(f"{path}:")


def test_directory_of_flows_by_id(tmp_path: Path, flow_text: FlowText) -> None:
    """A directory loads every flow by id, the newest version of each."""
    (tmp_path / "a.yaml").write_text(flow_text.text, encoding="utf-8")
    newer = flow_text.replace("version: 1", "version: 2")
    (tmp_path / "b.yaml").write_text(newer.text, encoding="utf-8")
    flows = load_flows_dir(tmp_path)
    assert list(flows) == ["mini"]
    assert (flows["mini"].flow.version, flows["mini"].file) == (2, str(tmp_path / "b.yaml"))


def test_two_files_with_one_id_and_version(tmp_path: Path, flow_text: FlowText) -> None:
    """Two files defining the same flow id and version are an error naming both files."""
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    first.write_text(flow_text.text, encoding="utf-8")
    second.write_text(flow_text.text, encoding="utf-8")
    with pytest.raises(FlowError) as caught:
        load_flows_dir(tmp_path)
    [problem] = caught.value.problems
    assert (problem.file, problem.line) == (str(second), flow_text.line_of("version: 1"))
    assert problem.message == f"flow 'mini' version 1 is also defined in {first}"


def test_directory_reports_problems_of_every_file(tmp_path: Path, flow_text: FlowText) -> None:
    """A directory load reports the problems of all its bad files together."""
    (tmp_path / "a.yaml").write_text("a: [1\n", encoding="utf-8")
    (tmp_path / "b.yaml").write_text(flow_text.replace("start: consent", "start: x").text)
    with pytest.raises(FlowError) as caught:
        load_flows_dir(tmp_path)
    assert {Path(p.file).name for p in caught.value.problems} == {"a.yaml", "b.yaml"}


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_damaged_file_gives_problems_not_crashes(
    flow_text: FlowText, data: st.DataObject
) -> None:
    """Replacing any line with arbitrary text either loads or raises FlowError at a real line."""
    lines = flow_text.text.splitlines()
    index = data.draw(st.integers(0, len(lines) - 1), label="line")
    junk = data.draw(st.sampled_from(DAMAGE) | st.text(max_size=30), label="junk")
    indent = lines[index][: len(lines[index]) - len(lines[index].lstrip())]
    damaged = "\n".join([*lines[:index], indent + junk, *lines[index + 1 :]]) + "\n"
    problems: list[Problem] | None = None
    try:
        load_flow_text(damaged, file="damaged.yaml")
    except FlowError as error:
        problems = error.problems
    if problems is not None:
        assert problems
        assert all(1 <= p.line <= len(lines) + 1 for p in problems)
