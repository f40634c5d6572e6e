"""The sealer: sealed and plain forms, several keys, refusals without contents, keyed hashes."""

from __future__ import annotations

import hashlib

import pytest

from storage.sealing import PLAIN, SEALED, Sealer, SealError, new_key

SECRET = "my poo is black since Monday"


def test_a_key_seals_and_opens_and_every_seal_differs() -> None:
    """With a key a value is stored sealed (never the same twice) and opens again."""
    sealer = Sealer(new_key())
    first, second = sealer.seal(SECRET), sealer.seal(SECRET)
    assert first.startswith(SEALED)
    assert first != second
    assert SECRET not in first
    assert sealer.unseal(first) == sealer.unseal(second) == SECRET
    assert sealer.unseal_json(sealer.seal_json({"a": [1, "é"]})) == {"a": [1, "é"]}


def test_without_a_key_values_are_marked_plain() -> None:
    """The keyless demo stores values marked plain, and reads them back."""
    sealer = Sealer()
    assert not sealer.enabled
    assert sealer.seal(SECRET) == PLAIN + SECRET
    assert sealer.unseal(PLAIN + SECRET) == SECRET


@pytest.mark.parametrize(
    ("stored_with", "read_with", "message"),
    [
        (None, "key", "found although INTAKE_ENCRYPTION_KEY is set"),
        ("key", None, "INTAKE_ENCRYPTION_KEY is not set"),
        ("key", "other", "cannot be opened with INTAKE_ENCRYPTION_KEY"),
    ],
)
def test_the_wrong_form_is_refused_without_contents(
    stored_with: str | None, read_with: str | None, message: str
) -> None:
    """A plain value with a key set, a sealed one without, or another key: a SealError that
    says what is wrong and never what the value was."""
    keys = {"key": new_key(), "other": new_key(), None: None}
    stored = Sealer(keys[stored_with]).seal(SECRET)
    with pytest.raises(SealError, match=message) as error:
        Sealer(keys[read_with]).unseal(stored)
    assert SECRET not in str(error.value)
    assert error.value.__cause__ is None


def test_unmarked_values_are_refused() -> None:
    """A value in neither form (written by something else) is refused, not taken as it is."""
    with pytest.raises(SealError, match="no known form"):
        Sealer(new_key()).unseal(SECRET)
    with pytest.raises(SealError, match="no known form"):
        Sealer().unseal(SECRET)


def test_a_malformed_key_is_named_by_position() -> None:
    """A bad key in the list says which one, never its text."""
    with pytest.raises(SealError, match="key 2 is not a valid key") as error:
        Sealer(f"{new_key()},not-a-key")
    assert "not-a-key" not in str(error.value)


def test_several_keys_open_old_values_and_seal_with_the_first() -> None:
    """During a rotation (new key first) old values open; new ones use the new key; `reseal`
    moves an old value to the new key; `is_current` tells which is which."""
    old, new = new_key(), new_key()
    stored_old = Sealer(old).seal(SECRET)
    rotating = Sealer(f"{new},{old}")
    assert rotating.key_count == 2
    assert rotating.unseal(stored_old) == SECRET
    fresh = rotating.seal(SECRET)
    assert Sealer(new).unseal(fresh) == SECRET
    assert rotating.is_current(fresh)
    assert not rotating.is_current(stored_old)
    moved = rotating.reseal(stored_old)
    assert rotating.is_current(moved)
    assert Sealer(new).unseal(moved) == SECRET
    assert rotating.reseal(PLAIN + SECRET).startswith(SEALED)


def test_keyed_hashes_are_stable_per_key_and_reveal_nothing_plain() -> None:
    """One id has one hash per key (newest first), a 63-bit non-negative integer that is not
    the id nor a plain hash of it; without a key the demo hash is used."""
    old, new = new_key(), new_key()
    rotating = Sealer(f"{new},{old}")
    telegram_id = 5_123_456_789
    hashes = rotating.lookup_hashes(telegram_id)
    assert hashes == (Sealer(new).lookup_hash(telegram_id), Sealer(old).lookup_hash(telegram_id))
    assert hashes[0] != hashes[1]
    assert all(0 <= h < 2**63 for h in hashes)
    assert rotating.lookup_hash(telegram_id) == hashes[0]
    assert Sealer(new).lookup_hash(telegram_id + 1) != hashes[0]
    plain = int.from_bytes(hashlib.sha256(str(telegram_id).encode()).digest()[:8], "big") >> 1
    assert plain not in hashes
    assert Sealer().lookup_hash(telegram_id) in rotating.legacy_lookup_hashes(telegram_id)
