"""Sealing of sensitive values at rest: Fernet when a key is configured, plain text otherwise.

Sealed values carry a prefix so a database can hold both (a key added later seals new writes
and still reads old ones). A wrong key is reported as `SealError`, naming no contents.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken

_SEALED = "f1:"


class SealError(Exception):
    """A value could not be unsealed (wrong or missing key), or the key is malformed."""


class Sealer:
    """Seals and unseals strings with an optional Fernet key."""

    def __init__(self, key: str | None = None) -> None:
        self._fernet: Fernet | None = None
        if key:
            try:
                self._fernet = Fernet(key.encode())
            except (ValueError, TypeError) as exc:
                raise SealError(
                    "INTAKE_ENCRYPTION_KEY is not a valid key: it must be 32 url-safe "
                    "base64-encoded bytes (make one with `intake-bot keygen`)"
                ) from exc

    @property
    def enabled(self) -> bool:
        """Whether new values are encrypted."""
        return self._fernet is not None

    def seal(self, value: str) -> str:
        """The stored form of `value`."""
        if self._fernet is None:
            return value
        return _SEALED + self._fernet.encrypt(value.encode()).decode()

    def unseal(self, stored: str) -> str:
        """The original value of a stored string."""
        if not stored.startswith(_SEALED):
            return stored
        if self._fernet is None:
            raise SealError("a sealed value was found but no INTAKE_ENCRYPTION_KEY is set")
        try:
            return self._fernet.decrypt(stored[len(_SEALED) :].encode()).decode()
        except InvalidToken as exc:
            raise SealError("a sealed value could not be opened with this key") from exc

    def seal_optional(self, value: str | None) -> str | None:
        """`seal` for optional values."""
        return None if value is None else self.seal(value)

    def unseal_optional(self, stored: str | None) -> str | None:
        """`unseal` for optional values."""
        return None if stored is None else self.unseal(stored)


def new_key() -> str:
    """A fresh key for INTAKE_ENCRYPTION_KEY."""
    return Fernet.generate_key().decode()
