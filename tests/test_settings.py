from pathlib import Path

import pytest

from service.settings import Settings, SettingsError


def test_defaults_need_nothing_installed():
    s = Settings.from_env({})
    assert s.database_url.startswith("sqlite:///")
    assert s.content_dir == Path("content")
    assert s.is_dev_secret


def test_reads_every_variable():
    s = Settings.from_env({
        "DATABASE_URL": "postgresql+psycopg://u@h/db",
        "NEWSLETTER_CONTENT_DIR": "/srv/content",
        "NEWSLETTER_BASE_URL": "https://news.example.com/",
        "NEWSLETTER_LINK_KEYS": "new-key-0123456789abcdef, old-key-0123456789abcdef",
        "NEWSLETTER_API_KEYS": "crm-sync:k1-secret, k2",
        "NEWSLETTER_PREVIEW_PASSWORD": "pw",
    })
    assert s.database_url == "postgresql+psycopg://u@h/db"
    assert s.content_dir == Path("/srv/content")
    assert s.base_url == "https://news.example.com"
    assert s.link_keys == (b"new-key-0123456789abcdef", b"old-key-0123456789abcdef")
    assert s.api_keys == (("crm-sync", "k1-secret"), ("key-2", "k2"))
    assert s.preview_password == "pw"
    assert not s.is_dev_secret


def test_settings_are_frozen():
    s = Settings.from_env({})
    with pytest.raises(AttributeError):
        s.base_url = "x"  # type: ignore[misc]


@pytest.mark.parametrize("env, message", [
    ({"NEWSLETTER_BASE_URL": "news.example.com"}, "NEWSLETTER_BASE_URL"),
    ({"NEWSLETTER_LINK_KEYS": "short"}, "at least 16"),
    ({"NEWSLETTER_RESULTS_RETENTION_DAYS": "13 months"}, "NEWSLETTER_RESULTS_RETENTION_DAYS"),
    ({"NEWSLETTER_RESULTS_RETENTION_DAYS": "0"}, "number of days"),
    ({"NEWSLETTER_CONFIRM_DAYS": "a week"}, "NEWSLETTER_CONFIRM_DAYS"),
    ({"NEWSLETTER_CONFIRM_DAYS": "14", "NEWSLETTER_UNCONFIRMED_DELETE_DAYS": "10"}, "must not be shorter"),
    ({"NEWSLETTER_SIGNUP_RATE": "lots"}, "NEWSLETTER_SIGNUP_RATE"),
    ({"NEWSLETTER_BOUNCE_ADDRESS": "bounces+x@nordhaus.example"}, "without \\+"),
    ({"NEWSLETTER_BOUNCE_ADDRESS": "nobody"}, "NEWSLETTER_BOUNCE_ADDRESS"),
    ({"NEWSLETTER_SOFT_BOUNCE_LIMIT": "0"}, "NEWSLETTER_SOFT_BOUNCE_LIMIT must be a number of bounces"),
    ({"NEWSLETTER_SOFT_BOUNCE_DAYS": "a month"}, "NEWSLETTER_SOFT_BOUNCE_DAYS must be a number of days"),
    ({"NEWSLETTER_WEBHOOK_SECRET": "short"}, "NEWSLETTER_WEBHOOK_SECRET: every secret must be at least 16"),
])
def test_bad_values_are_named(env, message):
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env)


def test_the_dramatiq_workers_read_their_queue_and_relay_password_through_the_settings():
    settings = Settings.from_env({"NEWSLETTER_SEND_QUEUE": "staging-send", "NEWSLETTER_SMTP_PASSWORD": "s3cret"})
    assert settings.send_queue == "staging-send" and settings.smtp_password == "s3cret"
    assert "s3cret" not in repr(settings)
    assert Settings.from_env({}).send_queue == "newsletter-send" and Settings.from_env({}).smtp_password is None


def test_two_api_keys_of_one_name_are_refused():
    with pytest.raises(SettingsError, match="two keys are named 'crm'"):
        Settings.from_env({"NEWSLETTER_API_KEYS": "crm:a-secret,crm:another"})


def test_the_results_retention_is_read_in_days():
    assert Settings.from_env({}).results_retention_days == 396
    assert Settings.from_env({"NEWSLETTER_RESULTS_RETENTION_DAYS": " 30 "}).results_retention_days == 30


def test_the_lifecycle_settings_are_read():
    settings = Settings.from_env({"NEWSLETTER_CONFIRM_DAYS": "3", "NEWSLETTER_UNCONFIRMED_DELETE_DAYS": "14",
                                  "NEWSLETTER_SIGNUP_RATE": "20/hour", "NEWSLETTER_SIGNUP_ORIGINS": "www.Shop.example, ,b.example",
                                  "NEWSLETTER_BOUNCE_ADDRESS": "returns@nordhaus.example"})
    assert (settings.confirm_days, settings.unconfirmed_delete_days, settings.signup_rate) == (3, 14, "20/hour")
    assert settings.signup_origins == {"www.shop.example", "b.example"}
    assert settings.bounce_address == "returns@nordhaus.example"
    defaults = Settings.from_env({})
    assert (defaults.confirm_days, defaults.unconfirmed_delete_days, defaults.rate_limit_storage) == (7, 30, "memory://")


def test_the_bounce_settings_are_read_and_their_secrets_never_shown():
    settings = Settings.from_env({"NEWSLETTER_SOFT_BOUNCE_LIMIT": "5", "NEWSLETTER_SOFT_BOUNCE_DAYS": "14",
                                  "NEWSLETTER_WEBHOOK_SECRET": "new-webhook-secret-123, old-webhook-secret-456",
                                  "NEWSLETTER_BOUNCE_IMAP_PASSWORD": "imap-pass"})
    assert (settings.soft_bounce_limit, settings.soft_bounce_days) == (5, 14)
    assert settings.webhook_secrets == (b"new-webhook-secret-123", b"old-webhook-secret-456")
    assert settings.bounce_imap_password == "imap-pass"
    assert "imap-pass" not in repr(settings) and "webhook-secret" not in repr(settings)
    defaults = Settings.from_env({})
    assert (defaults.soft_bounce_limit, defaults.soft_bounce_days, defaults.webhook_secrets,
            defaults.bounce_imap_password) == (3, 30, (), None)
