"""`intake-bot flows diff OLD NEW`: steps, options, flags and texts that changed, and with
`--db` how many intakes in progress sit on the steps that change."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from bot.cli import app
from bot.composition import build_services
from bot.settings import BUNDLED_FLOWS
from tests.conftest import make_settings, say
from tests.flows.conftest import mini_flow_text

runner = CliRunner()
AGE_PROMPT = "Thank you. How old are you? Please type your age in years."


def write(folder: Path, name: str, text: str) -> Path:
    """A flow file."""
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_changed_prompt_names_its_step(tmp_path: Path) -> None:
    """The bundled flow against a copy with the age prompt changed: one change, at `age`."""
    bundled = BUNDLED_FLOWS / "gut_health.yaml"
    text = bundled.read_text(encoding="utf-8")
    assert text.count(AGE_PROMPT) == 1
    copy = write(tmp_path, "copy.yaml", text.replace(AGE_PROMPT, "How old are you, in years?"))
    result = runner.invoke(app, ["flows", "diff", str(bundled), str(copy)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[1:] == [
        "steps:",
        "  ~ age: prompt (en): Thank you. How old are you? Please type your age in years. T… -> "
        "How old are you, in years? This intake is for people aged 16…",
    ]


def test_every_kind_of_change_is_listed(tmp_path: Path) -> None:
    """Steps and options added, removed and relabelled, a flag's level, a message, a
    condition: each on its own line, under its part."""
    old = mini_flow_text()
    new = (
        old.replace("version: 1", "version: 2")
        .replace("{value: bloating, label: Bloating}", "{value: bloating, label: Bloating or wind}")
        .replace(
            "        - {value: pain, label: Belly pain}\n",
            "        - {value: pain, label: Belly pain}\n"
            "        - {value: reflux, label: Heartburn}\n",
        )
        .replace("level: same_day", "level: soon")
        .replace('  help: "Help "', '  help: "Send /back to go back"')
        .replace("ask_when: {answer: symptoms, includes: pain}", "ask_when: {answer: age, gte: 40}")
    )
    result = runner.invoke(
        app,
        [
            "flows",
            "diff",
            str(write(tmp_path, "a.yaml", old.text)),
            str(write(tmp_path, "b.yaml", new.text)),
        ],
    )
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("mini v1 -> mini v2\n")
    assert "  ~ severity: asked when: symptoms includes Belly pain -> age ≥ 40\n" in out
    assert "options:\n  ~ symptoms.bloating: label (en): Bloating -> Bloating or wind\n" in out
    assert "  + symptoms.reflux: label (en) Heartburn\n" in out
    assert "red flags:\n  ~ severe_pain: level: same_day -> soon\n" in out
    assert "messages:\n  ~ help: text (en): Help -> Send /back to go back\n" in out


def test_added_and_removed_steps(tmp_path: Path) -> None:
    """A step added (and the `next` leading to it), the same backwards, and no change."""
    old = mini_flow_text()
    diet = (
        "  diet:\n    prompt: Do you follow a diet?\n    answer: {kind: yes_no}\n"
        "    next: severity\n"
    )
    new = old.replace("    next: severity\n", "    next: diet\n").replace(
        "  severity:\n", diet + "  severity:\n"
    )
    a, b = write(tmp_path, "a.yaml", old.text), write(tmp_path, "b.yaml", new.text)
    out = runner.invoke(app, ["flows", "diff", str(a), str(b)]).stdout
    assert "  ~ symptoms: next: severity -> diet\n" in out
    assert "  + diet: kind yes_no, prompt (en) Do you follow a diet?\n" in out
    back = runner.invoke(app, ["flows", "diff", str(b), str(a)]).stdout
    assert "  - diet\n" in back
    same = runner.invoke(app, ["flows", "diff", str(a), str(a)])
    assert same.stdout == "mini v1 -> mini v1\nno differences\n"


def test_in_progress_intakes_on_changed_steps(tmp_path: Path) -> None:
    """With --db: intakes in progress on OLD's version, and those on steps that change."""
    old = write(tmp_path, "mini.yaml", mini_flow_text().text)
    url = f"sqlite:///{tmp_path / 'intake.db'}"
    services = build_services(make_settings(url), flow_file=old)
    try:
        for user in (1, 2, 3):
            say(services.intake, user, "I agree")  # at age
        say(services.intake, 3, "40")  # at symptoms
    finally:
        services.close()
    new = write(
        tmp_path,
        "v2.yaml",
        mini_flow_text()
        .replace("version: 1", "version: 2")
        .replace("How old are you?", "Your age?")
        .text,
    )
    result = runner.invoke(app, ["flows", "diff", str(old), str(new), "--db", url])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == (
        "intakes in progress on mini v1: 3; on steps that change: 2 (age 2)"
    )


def test_an_invalid_file_is_reported(tmp_path: Path) -> None:
    """A flow file with a mistake: file:line on stderr, exit 1."""
    good = write(tmp_path, "a.yaml", mini_flow_text().text)
    bad = write(
        tmp_path, "b.yaml", mini_flow_text().replace("next: symptoms", "next: nowhere").text
    )
    result = runner.invoke(app, ["flows", "diff", str(good), str(bad)])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{bad}:")
