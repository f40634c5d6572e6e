"""Sealing of health data at rest (Fernet) and keyed hashes for look-ups by Telegram id.

`Sealer` is built from INTAKE_ENCRYPTION_KEY: one key, or several comma-separated, newest first
(during a rotation the new key leads and the old ones follow). Values are sealed with the
newest key and opened with any listed one (`MultiFernet`); `intake-bot keys rotate` re-seals
the old ones. Stored forms carry a prefix:

    f1:<Fernet token>   sealed
    p1:<text>           plain, written only when no key is set (the terminal demo)

With a key set, a plain value is refused (`SealError`), so health data can never sit in clear
beside sealed data unnoticed; without a key, a sealed value is refused. Errors name no contents.

Look-ups by Telegram id use a keyed hash: HMAC-SHA256 under a key derived (HKDF) from each
encryption key, cut to 63 bits so it fits a BigInteger column and its unique index. Every
accepted key gives one candidate, newest first; the newest is what gets written. Without a key
the hash key is a fixed demo key that hides nothing: the demo runs the same code, nothing more.
Derived keys are computed once per sealer, so a turn pays one HMAC per accepted key. The step
an intake is at is keyed the same way (`step_key`, newest key only, cached per step id), so
`stats` can count intakes per step while the step itself stays sealed.
"""

from __future__ import annotations

import base64
import hmac
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SEALED = "f1:"
PLAIN = "p1:"
LOOKUP_INFO = b"intake-bot telegram id lookup v1"
STEP_INFO = b"intake-bot step key v1"
DEMO_LOOKUP_KEY = b"intake-bot demo lookup key: not a secret"
HASH_BITS = 63


class SealError(Exception):
    """A value could not be sealed or opened (wrong, missing or malformed key); no contents."""


class Sealer:
    """Seals and opens stored strings; derives the keyed hashes of Telegram ids."""

    def __init__(self, keys: str | None = None) -> None:
        raw = [k.strip() for k in (keys or "").split(",") if k.strip()]
        self._fernets = [_fernet(k, position) for position, k in enumerate(raw, start=1)]
        self._multi = MultiFernet(self._fernets) if self._fernets else None
        self._lookup_keys = [_lookup_key(k, LOOKUP_INFO) for k in raw] or [DEMO_LOOKUP_KEY]
        self._step_secrets = [_lookup_key(k, STEP_INFO) for k in raw] or [DEMO_LOOKUP_KEY]
        self._step_keys: dict[str, int] = {}

    @property
    def enabled(self) -> bool:
        """Whether values are sealed (a key is set)."""
        return self._multi is not None

    @property
    def key_count(self) -> int:
        """How many keys are accepted (the first seals)."""
        return len(self._fernets)

    # --- values ------------------------------------------------------------------------------

    def seal(self, value: str) -> str:
        """The stored form of `value`."""
        if self._multi is None:
            return PLAIN + value
        return SEALED + self._multi.encrypt(value.encode()).decode()

    def unseal(self, stored: str) -> str:
        """The original value of a stored string."""
        if stored.startswith(SEALED):
            if self._multi is None:
                raise SealError("an encrypted value was found but INTAKE_ENCRYPTION_KEY is not set")
            try:
                return self._multi.decrypt(stored[len(SEALED) :].encode()).decode()
            except InvalidToken:
                raise SealError(
                    "a stored value cannot be opened with INTAKE_ENCRYPTION_KEY "
                    "(it was sealed with another key)"
                ) from None
        if stored.startswith(PLAIN):
            if self._multi is not None:
                raise SealError(
                    "a value stored without encryption was found although "
                    "INTAKE_ENCRYPTION_KEY is set: run `intake-bot keys rotate` to seal it"
                )
            return stored[len(PLAIN) :]
        raise SealError("a stored value is in no known form (neither sealed nor marked plain)")

    def seal_optional(self, value: str | None) -> str | None:
        """`seal` for optional values."""
        return None if value is None else self.seal(value)

    def unseal_optional(self, stored: str | None) -> str | None:
        """`unseal` for optional values."""
        return None if stored is None else self.unseal(stored)

    def seal_json(self, value: Any) -> str:
        """A JSON-ready value, sealed as one string."""
        return self.seal(json.dumps(value, separators=(",", ":"), ensure_ascii=False))

    def unseal_json(self, stored: str) -> Any:
        """The JSON value of a string sealed with `seal_json`."""
        return json.loads(self.unseal(stored))

    # --- rotation ----------------------------------------------------------------------------

    def is_current(self, stored: str) -> bool:
        """Whether a stored value needs nothing: sealed with the newest key (or plain, keyless)."""
        if self._multi is None:
            return stored.startswith(PLAIN)
        if not stored.startswith(SEALED):
            return False
        try:
            self._fernets[0].decrypt(stored[len(SEALED) :].encode())
        except InvalidToken:
            return False
        return True

    def reseal(self, stored: str) -> str:
        """`stored` sealed again with the newest key (plain values are sealed)."""
        if self._multi is None:
            return self.seal(self.unseal(stored))
        if stored.startswith(PLAIN):
            return self.seal(stored[len(PLAIN) :])
        self.unseal(stored)  # a clear SealError for a value no accepted key opens
        return SEALED + self._multi.rotate(stored[len(SEALED) :].encode()).decode()

    # --- keyed hashes ------------------------------------------------------------------------

    def lookup_hash(self, telegram_id: int) -> int:
        """The keyed hash written for a Telegram id (under the newest key)."""
        return _hmac63(self._lookup_keys[0], telegram_id)

    def lookup_hashes(self, telegram_id: int) -> tuple[int, ...]:
        """The keyed hash of a Telegram id under every accepted key, newest first."""
        return tuple(_hmac63(key, telegram_id) for key in self._lookup_keys)

    def step_key(self, step_id: str) -> int:
        """The keyed hash of a step id under the newest key (cached: a flow has few steps)."""
        found = self._step_keys.get(step_id)
        if found is None:
            found = self._step_keys[step_id] = _hmac63(self._step_secrets[0], step_id)
        return found

    def step_keys(self, step_id: str) -> tuple[int, ...]:
        """The keyed hash of a step id under every accepted key, newest first."""
        return tuple(_hmac63(secret, step_id) for secret in self._step_secrets)

    def legacy_lookup_hashes(self, telegram_id: int) -> tuple[int, ...]:
        """Every hash a row may still carry: the accepted keys' and the keyless demo's."""
        found = self.lookup_hashes(telegram_id)
        demo = _hmac63(DEMO_LOOKUP_KEY, telegram_id)
        return found if demo in found else (*found, demo)


def new_key() -> str:
    """A fresh key for INTAKE_ENCRYPTION_KEY."""
    return Fernet.generate_key().decode()


def _fernet(key: str, position: int) -> Fernet:
    try:
        return Fernet(key.encode())
    except (ValueError, TypeError):
        raise SealError(
            f"INTAKE_ENCRYPTION_KEY: key {position} is not a valid key: it must be 32 url-safe "
            "base64-encoded bytes (make one with `intake-bot keygen`)"
        ) from None


def _lookup_key(key: str, info: bytes) -> bytes:
    material = base64.urlsafe_b64decode(key.encode())
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(material)


def _hmac63(key: bytes, value: int | str) -> int:
    digest = hmac.digest(key, str(value).encode(), "sha256")  # one C call, no HMAC object
    return int.from_bytes(digest[:8], "big") >> (64 - HASH_BITS)
