"""Settings: read from the environment once, at the edge, and passed down as a frozen value."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from limits import parse as parse_rate


DEMO_UNSUBSCRIBE_MAILTO = "unsubscribe@nordhaus.example"  # the demo's: a real send must set its own


class SettingsError(ValueError):
    """An environment variable holds a value the service cannot use."""


def _keys(raw: str) -> tuple[bytes, ...]:
    # Several keys verify links; the first one signs (rotation without breaking old emails).
    return tuple(k.strip().encode() for k in raw.split(",") if k.strip())


_KEY_NAME = re.compile(r"([A-Za-z0-9][A-Za-z0-9_.-]{0,39}):(.+)")


def _api_keys(raw: str) -> tuple[tuple[str, str], ...]:
    """``name:secret,...`` (a bare secret is named by its place: ``key-1``, ``key-2``, ...)."""
    keys: list[tuple[str, str]] = []
    for n, item in enumerate((k.strip() for k in raw.split(",") if k.strip()), start=1):
        named = _KEY_NAME.fullmatch(item)
        name, secret = (named.group(1), named.group(2).strip()) if named else (f"key-{n}", item)
        if any(name == other for other, _ in keys):
            raise SettingsError(f"NEWSLETTER_API_KEYS: two keys are named {name!r}")
        keys.append((name, secret))
    return tuple(keys)


def _days(env: Mapping[str, str], name: str, default: int, what: str = "a number of days") -> int:
    raw = env.get(name, str(default)).strip()
    if not raw.isdigit() or int(raw) < 1:
        raise SettingsError(f"{name} must be {what} (1 or more), got {raw!r}")
    return int(raw)


def _bounce_address(raw: str) -> str:
    local, at, domain = raw.strip().rpartition("@")
    if not at or not local or not domain or "+" in local or " " in raw.strip():
        raise SettingsError(f"NEWSLETTER_BOUNCE_ADDRESS must be a plain address without +, e.g. "
                            f"bounces@example.com, got {raw!r}")
    return raw.strip()


@dataclass(frozen=True)
class Settings:
    """Everything configurable about one running service."""

    database_url: str = "sqlite:///var/newsletter.db"
    content_dir: Path = Path("content")
    base_url: str = "http://127.0.0.1:8000"
    link_keys: tuple[bytes, ...] = (b"dev-only-link-key-change-me",)
    api_keys: tuple[tuple[str, str], ...] = ()  # (name, secret): events name the key, never the secret
    preview_password: str | None = None
    sender_email: str = "newsletter@nordhaus.example"
    unsubscribe_mailto: str = DEMO_UNSUBSCRIBE_MAILTO
    # Every mail's envelope sender is this address with the recipient in it (VERP, see
    # preferences.suppression.return_path): the mailbox that bounce reports arrive in.
    bounce_address: str = "bounces@nordhaus.example"
    # A Maildir or IMAP bounce mailbox's password (`newsletter bounces process --from imap://...`).
    bounce_imap_password: str | None = field(default=None, repr=False)
    # Soft bounces suppress an address once this many different messages bounced within the days.
    soft_bounce_limit: int = 3
    soft_bounce_days: int = 30
    # Sign the relay's bounce and complaint webhook (HMAC-SHA256); the first of several is the
    # current one, the others still verify (rotation). Empty: the webhook answers 503.
    webhook_secrets: tuple[bytes, ...] = field(default=(), repr=False)
    broker_url: str = "redis://127.0.0.1:6379/0"
    relay: str = "maildir:var/outbox"
    send_queue: str = "newsletter-send"  # the Dramatiq queue: one per deployment
    smtp_password: str | None = field(default=None, repr=False)  # the relay's, for Dramatiq workers
    # Clicks of editions older than this are deleted by `newsletter results prune` (13 months: a
    # year's editions compared with the year before's); the anonymous rollups stay.
    results_retention_days: int = 396
    # Double opt-in: a confirm link works this many days; a signup nobody confirmed is deleted
    # after that many (a former customer who asked again goes back to unsubscribed instead).
    confirm_days: int = 7
    unconfirmed_delete_days: int = 30
    # Sign-ups one client (IP address) may make, as the `limits` library writes a rate, counted
    # in `rate_limit_storage` (memory:// per process; redis://... shared by every web process).
    signup_rate: str = "10/hour"
    rate_limit_storage: str = "memory://"
    # Hosts of the shop pages whose embedded signup form is accepted (empty: any).
    signup_origins: frozenset[str] = frozenset()
    # Assigns customers their arm of an experiment (service/content/experiments.py). Unset: derived
    # from the first link key, so rotating the link keys would reassign running experiments.
    experiment_secret: bytes | None = field(default=None, repr=False)
    is_dev_secret: bool = field(default=True, compare=False)

    def untrusted_links(self) -> list[str]:
        """What about the mails' links makes mailbox providers distrust them (or breaks them), each
        naming its setting: a base URL without https (List-Unsubscribe one-click needs it), the
        demo's unsubscribe mailto (nobody reads it). Empty when the links are fit for real mail."""
        problems = []
        if not self.base_url.startswith("https://"):
            problems.append(f"NEWSLETTER_BASE_URL is {self.base_url}: links and the one-click List-Unsubscribe "
                            "need an https:// address")
        if self.unsubscribe_mailto == DEMO_UNSUBSCRIBE_MAILTO:
            problems.append(f"NEWSLETTER_UNSUBSCRIBE_MAILTO is still the demo's {DEMO_UNSUBSCRIBE_MAILTO}: "
                            "unsubscribe mails would reach nobody")
        return problems

    @property
    def csrf_secret(self) -> bytes:
        """Signs CSRF tokens of the preference pages; derived so operators manage one secret."""
        return hmac.new(self.link_keys[0], b"newsletter.csrf.v1", hashlib.sha256).digest()

    @property
    def staff_session_secret(self) -> bytes:
        """Signs the staff pages' session cookies; derived like ``csrf_secret``."""
        return hmac.new(self.link_keys[0], b"newsletter.staff-session.v1", hashlib.sha256).digest()

    @property
    def experiment_key(self) -> bytes:
        """Keys the hash that gives each customer their arm: the same key, the same arms."""
        return self.experiment_secret or hmac.new(self.link_keys[0], b"newsletter.experiments.v1",
                                                  hashlib.sha256).digest()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        """Build the settings from environment variables (see the README's settings table)."""
        env = os.environ if env is None else env
        defaults = cls()
        keys = _keys(env.get("NEWSLETTER_LINK_KEYS", ""))
        base_url = env.get("NEWSLETTER_BASE_URL", defaults.base_url).rstrip("/")
        if not base_url.startswith(("http://", "https://")):
            raise SettingsError(f"NEWSLETTER_BASE_URL must start with http:// or https://, got {base_url!r}")
        if keys and any(len(k) < 16 for k in keys):
            raise SettingsError("NEWSLETTER_LINK_KEYS: every key must be at least 16 characters")
        retention = env.get("NEWSLETTER_RESULTS_RETENTION_DAYS", str(defaults.results_retention_days)).strip()
        if not retention.isdigit() or int(retention) < 1:
            raise SettingsError(f"NEWSLETTER_RESULTS_RETENTION_DAYS must be a number of days, got {retention!r}")
        confirm_days = _days(env, "NEWSLETTER_CONFIRM_DAYS", defaults.confirm_days)
        delete_days = _days(env, "NEWSLETTER_UNCONFIRMED_DELETE_DAYS", defaults.unconfirmed_delete_days)
        if delete_days < confirm_days:
            raise SettingsError("NEWSLETTER_UNCONFIRMED_DELETE_DAYS must not be shorter than NEWSLETTER_CONFIRM_DAYS "
                                f"({delete_days} < {confirm_days}): a signup would be deleted while its link works")
        soft_limit = _days(env, "NEWSLETTER_SOFT_BOUNCE_LIMIT", defaults.soft_bounce_limit, what="a number of bounces")
        soft_days = _days(env, "NEWSLETTER_SOFT_BOUNCE_DAYS", defaults.soft_bounce_days)
        webhook_secrets = _keys(env.get("NEWSLETTER_WEBHOOK_SECRET", ""))
        if any(len(secret) < 16 for secret in webhook_secrets):
            raise SettingsError("NEWSLETTER_WEBHOOK_SECRET: every secret must be at least 16 characters")
        experiment_secret = env.get("NEWSLETTER_EXPERIMENT_KEY", "").strip().encode() or None
        if experiment_secret is not None and len(experiment_secret) < 16:
            raise SettingsError("NEWSLETTER_EXPERIMENT_KEY must be at least 16 characters")
        signup_rate = env.get("NEWSLETTER_SIGNUP_RATE", defaults.signup_rate).strip()
        try:
            parse_rate(signup_rate)
        except ValueError:
            raise SettingsError(f"NEWSLETTER_SIGNUP_RATE must be a rate such as 10/hour, got {signup_rate!r}") from None
        return cls(
            database_url=env.get("DATABASE_URL", defaults.database_url),
            content_dir=Path(env.get("NEWSLETTER_CONTENT_DIR", str(defaults.content_dir))),
            base_url=base_url,
            link_keys=keys or defaults.link_keys,
            api_keys=_api_keys(env.get("NEWSLETTER_API_KEYS", "")),
            preview_password=env.get("NEWSLETTER_PREVIEW_PASSWORD") or None,
            sender_email=env.get("NEWSLETTER_SENDER", defaults.sender_email),
            unsubscribe_mailto=env.get("NEWSLETTER_UNSUBSCRIBE_MAILTO", defaults.unsubscribe_mailto),
            bounce_address=_bounce_address(env.get("NEWSLETTER_BOUNCE_ADDRESS", defaults.bounce_address)),
            bounce_imap_password=env.get("NEWSLETTER_BOUNCE_IMAP_PASSWORD") or None,
            soft_bounce_limit=soft_limit,
            soft_bounce_days=soft_days,
            webhook_secrets=webhook_secrets,
            experiment_secret=experiment_secret,
            broker_url=env.get("NEWSLETTER_BROKER_URL", defaults.broker_url),
            relay=env.get("NEWSLETTER_RELAY", defaults.relay),
            send_queue=env.get("NEWSLETTER_SEND_QUEUE") or defaults.send_queue,
            smtp_password=env.get("NEWSLETTER_SMTP_PASSWORD") or None,
            results_retention_days=int(retention),
            confirm_days=confirm_days,
            unconfirmed_delete_days=delete_days,
            signup_rate=signup_rate,
            rate_limit_storage=env.get("NEWSLETTER_RATE_LIMIT_STORAGE", defaults.rate_limit_storage).strip(),
            signup_origins=frozenset(host.strip().lower() for host in env.get("NEWSLETTER_SIGNUP_ORIGINS", "").split(",")
                                     if host.strip()),
            is_dev_secret=not keys,
        )
