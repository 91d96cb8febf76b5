"""Staff passwords, hashed with argon2id (argon2-cffi's defaults: RFC 9106's second choice,
64 MiB, 3 passes, 4 lanes). A hash made with older parameters is replaced at the next sign-in."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 12
MAX_LENGTH = 1024  # argon2 takes any length; a megabyte "password" is a denial of service


class WeakPassword(ValueError):
    """A password the service refuses to set, with why."""


class Passwords:
    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self.hasher = hasher or PasswordHasher()
        # Verified against when the account does not exist, so that a wrong name takes as long.
        self._decoy = self.hasher.hash("decoy password, never set for anyone")

    def hash(self, password: str) -> str:
        check_strength(password)
        return self.hasher.hash(password)

    def verify(self, stored: str | None, password: str) -> bool:
        """Whether ``password`` matches ``stored`` (None: no such account, checked all the same)."""
        if not isinstance(password, str) or len(password) > MAX_LENGTH:
            return False
        try:
            return self.hasher.verify(stored or self._decoy, password) and stored is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        return self.hasher.check_needs_rehash(stored)


def check_strength(password: str) -> None:
    """Refuse a password that is short, overlong or all one character; raises WeakPassword."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"a staff password needs at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"a staff password has at most {MAX_LENGTH} characters")
    if len(set(password)) < 4:
        raise WeakPassword("a staff password needs more than a few different characters")
