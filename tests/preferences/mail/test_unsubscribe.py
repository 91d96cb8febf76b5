"""Reading an unsubscribe mail's subject: the token, and the edition it names."""

from __future__ import annotations

from datetime import date

import pytest

from preferences.links import EditionRef
from preferences.mail.unsubscribe import MailRequest, read_request

TOKEN = "A" * 22 + "." + "b" * 22


@pytest.mark.parametrize("subject, expected", [
    (f"unsubscribe {TOKEN} weekly%2F2026-11-23", MailRequest(TOKEN, EditionRef("weekly", date(2026, 11, 23)))),
    (f"unsubscribe {TOKEN} weekly/2026-11-23", MailRequest(TOKEN, EditionRef("weekly", date(2026, 11, 23)))),
    (f"Re: AW:  UNSUBSCRIBE\t{TOKEN}", MailRequest(TOKEN, None)),
    (f"unsubscribe {TOKEN} nonsense", MailRequest(TOKEN, None)),
    (f"  unsubscribe   {TOKEN}  weekly/2026-11-23  ", MailRequest(TOKEN, EditionRef("weekly", date(2026, 11, 23)))),
])
def test_an_unsubscribe_subject_is_read(subject, expected):
    assert read_request(subject) == expected


@pytest.mark.parametrize("subject", [None, "", "hello", "please unsubscribe me", f"unsubscribe {TOKEN} a b",
                                     "unsubscribe"])
def test_anything_else_is_not_a_request(subject):
    assert read_request(subject) is None
