"""The cache of validated flows: used when it is ours and matches, ignored in every other case."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bot.settings import BUNDLED_FLOWS
from flows.engine.format.problems import FlowError
from flows.engine.loading import cache as cache_module
from flows.engine.loading import loader
from flows.engine.loading.cache import FlowCache
from flows.engine.loading.loader import load_flow_file

BUNDLED = BUNDLED_FLOWS / "gut_health.yaml"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def flow_file(tmp_path: Path) -> Path:
    path = tmp_path / "flow.yaml"
    path.write_text(BUNDLED.read_text(encoding="utf-8"), encoding="utf-8")
    return path


def no_yaml(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any YAML parse fail the test: the flow must come from the cache."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the YAML was parsed")

    monkeypatch.setattr(loader, "parse_yaml", refuse)


def cache_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.json"))


def test_a_cached_flow_equals_the_flow_loaded_from_yaml(
    flow_file: Path, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = load_flow_file(flow_file, FlowCache(folder))
    assert len(cache_files(folder)) == 1
    no_yaml(monkeypatch)
    again = load_flow_file(flow_file, FlowCache(folder))
    assert again.flow == first.flow
    assert (again.digest, again.source) == (first.digest, first.source)


def test_files_are_private(flow_file: Path, folder: Path) -> None:
    load_flow_file(flow_file, FlowCache(folder))
    assert folder.stat().st_mode & 0o777 == 0o700
    assert cache_files(folder)[0].stat().st_mode & 0o777 == 0o600


def test_changed_content_is_loaded_from_the_file(flow_file: Path, folder: Path) -> None:
    load_flow_file(flow_file, FlowCache(folder))
    text = flow_file.read_text(encoding="utf-8")
    version = load_flow_file(flow_file).flow.version
    flow_file.write_text(
        text.replace(f"version: {version}\n", f"version: {version + 1}\n", 1), encoding="utf-8"
    )
    changed = load_flow_file(flow_file, FlowCache(folder))
    assert changed.flow.version == version + 1
    assert len(cache_files(folder)) == 2


def test_an_invalid_file_is_never_cached(flow_file: Path, folder: Path) -> None:
    flow_file.write_text("id: broken\n", encoding="utf-8")
    with pytest.raises(FlowError):
        load_flow_file(flow_file, FlowCache(folder))
    assert cache_files(folder) == []


def test_new_engine_code_does_not_trust_older_files(
    flow_file: Path, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_flow_file(flow_file, FlowCache(folder))
    monkeypatch.setattr(cache_module, "engine_stamp", lambda: "other code")
    load_flow_file(flow_file, FlowCache(folder))
    assert len(cache_files(folder)) == 2


@pytest.mark.parametrize(
    "spoil",
    [
        lambda path: path.write_bytes(b"\x80 not json"),
        lambda path: path.write_text("[1, 2, 3]"),
        lambda path: path.write_text(json.dumps({"key": "another key", "flow": {}})),
        lambda path: path.write_text(
            json.dumps({**json.loads(path.read_text()), "flow": {"id": "x", "steps": 3}})
        ),
        lambda path: os.chmod(path, 0o666),
    ],
    ids=["corrupted", "not-a-mapping", "foreign-key", "invalid-flow", "world-writable"],
)
def test_a_spoiled_cache_file_is_ignored(
    flow_file: Path, folder: Path, monkeypatch: pytest.MonkeyPatch, spoil: object
) -> None:
    expected = load_flow_file(flow_file, FlowCache(folder)).flow
    (cached,) = cache_files(folder)
    spoil(cached)  # type: ignore[operator]
    assert FlowCache(folder).get(load_flow_file(flow_file).digest) is None
    assert load_flow_file(flow_file, FlowCache(folder)).flow == expected  # from the YAML


def test_a_symlinked_cache_file_is_not_followed(flow_file: Path, folder: Path) -> None:
    loaded = load_flow_file(flow_file, FlowCache(folder))
    (cached,) = cache_files(folder)
    elsewhere = folder.parent / "planted.json"
    cached.rename(elsewhere)
    cached.symlink_to(elsewhere)
    assert FlowCache(folder).get(loaded.digest) is None


def test_a_folder_others_can_write_is_neither_read_nor_written(
    flow_file: Path, folder: Path
) -> None:
    loaded = load_flow_file(flow_file, FlowCache(folder))
    os.chmod(folder, 0o777)
    assert FlowCache(folder).get(loaded.digest) is None
    for path in cache_files(folder):
        path.unlink()
    load_flow_file(flow_file, FlowCache(folder))
    assert cache_files(folder) == []


def test_an_unusable_folder_only_costs_the_cache(flow_file: Path, tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    loaded = load_flow_file(flow_file, FlowCache(blocked / "cache"))
    assert loaded.flow.id == "gut_health"
