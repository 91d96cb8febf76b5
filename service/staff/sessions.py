"""The staff session: a cookie holding the account id and its session epoch, signed and dated
with itsdangerous, HttpOnly, SameSite=Lax, Secure (and ``__Host-``) on https. It is valid for
``MAX_AGE`` and only while the account's epoch is unchanged: a sign-out, a password change or a
disable ends every session of the account at once, server-side."""

from __future__ import annotations

from itsdangerous import BadSignature, URLSafeTimedSerializer

MAX_AGE = 12 * 3600  # a working day
_SALT = "newsletter.staff-session.v1"


class Sessions:
    def __init__(self, secret: bytes, *, secure: bool) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt=_SALT)
        self.secure = secure
        self.cookie = "__Host-staff" if secure else "staff"

    def token(self, staff_id: int, epoch: int) -> str:
        return self._serializer.dumps([staff_id, epoch])

    def read(self, token: str | None) -> tuple[int, int] | None:
        """(account id, epoch) of a valid, unexpired token; None for anything else."""
        if not token or len(token) > 500:
            return None
        try:
            value = self._serializer.loads(token, max_age=MAX_AGE)
        except BadSignature:  # also SignatureExpired
            return None
        if (not isinstance(value, list) or len(value) != 2
                or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)):
            return None
        return value[0], value[1]

    def set_cookie_header(self, token: str) -> str:
        secure = "; Secure" if self.secure else ""
        return f"{self.cookie}={token}; Path=/; Max-Age={MAX_AGE}; HttpOnly; SameSite=Lax{secure}"

    def clear_cookie_header(self) -> str:
        secure = "; Secure" if self.secure else ""
        return f"{self.cookie}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax{secure}"
