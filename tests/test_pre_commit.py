"""The pre-commit hooks for flow files run the real commands: a changed flow file is validated
and tested with its scenarios (as `pre-commit` would run them: entry plus the changed files)."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parent.parent
FLOW = "flows/definitions/gut_health.yaml"
SCENARIO = "flows/scenarios/gut_health/routine.yaml"


def hooks() -> dict[str, dict[str, Any]]:
    """The local hooks of .pre-commit-config.yaml, by id."""
    config = YAML(typ="safe").load(ROOT / ".pre-commit-config.yaml")
    return {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}


def test_flow_hooks_match_flow_and_scenario_files() -> None:
    """A changed flow triggers validate and test; a changed scenario triggers the tests."""
    found = hooks()
    assert re.search(found["flows-validate"]["files"], FLOW)
    assert re.search(found["flows-test"]["files"], FLOW)
    assert re.search(found["flows-test-scenarios"]["files"], SCENARIO)
    assert not re.search(found["flows-test"]["files"], SCENARIO)
    assert found["flows-test-scenarios"]["pass_filenames"] is False


def test_flow_hooks_pass_on_the_bundled_flow() -> None:
    """Run as pre-commit runs them on a change to the bundled flow: both exit 0."""
    for hook_id in ("flows-validate", "flows-test"):
        command = [*shlex.split(hooks()[hook_id]["entry"]), FLOW]
        result = subprocess.run(
            command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
        )
        assert result.returncode == 0, (hook_id, result.stdout, result.stderr)
