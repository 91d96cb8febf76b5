"""--to values: each scheme to its target module, with every mistake refused (and no password shown)."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.delivery.base import BadTarget
from service.delivery.maildir import MaildirTarget
from service.delivery.registry import PARSERS, parse_target
from service.delivery.smtp import SmtpTarget


def test_targets_are_parsed():
    assert parse_target("maildir:./outbox") == MaildirTarget(Path("outbox"), "batch")
    assert parse_target("maildir:/var/mail/x?fsync=none").fsync == "none"
    smtp = parse_target("smtp://user%40x:p%3Ass@relay.example:2525?starttls=1&rate=700&verify=0")
    assert smtp == SmtpTarget("relay.example", 2525, "user@x", "p:ss", starttls=True, verify=False, rate=700.0)
    assert str(smtp) == "smtp://user@x@relay.example:2525"  # never the password
    assert parse_target("smtps://relay.example").port == 465
    assert parse_target("smtp://relay.example").port == 25


@pytest.mark.parametrize("bad", ["outbox", "maildir:", "maildir:x?fsync=sometimes", "http://x",
                                 "smtp://", "smtp://h?rate=0", "smtp://h?speed=1", "smtp://h?rate=fast"])
def test_bad_targets_are_refused(bad):
    with pytest.raises(BadTarget):
        parse_target(bad)


def test_a_bad_target_does_not_show_the_password():
    with pytest.raises(BadTarget) as caught:
        parse_target("smtp://me:secret@h?rate=fast")
    assert "secret" not in str(caught.value)


# Maildir ---------------------------------------------------------------------------------------

# Both ways of writing a file: an unnamed file linked into new/ (Linux), and tmp/ + rename.


def test_every_scheme_names_a_target_that_opens_a_deliverer(tmp_path):
    for text in (f"maildir:{tmp_path}/m", f"spool:{tmp_path}/s", "smtp://127.0.0.1:1", "smtps://127.0.0.1:1"):
        target = parse_target(text)
        deliverer = target.open(share=2)
        try:
            assert callable(deliverer.deliver) and deliverer.record_every >= 1
        finally:
            deliverer.close()
    assert set(PARSERS) == {"maildir", "spool", "smtp", "smtps"}
