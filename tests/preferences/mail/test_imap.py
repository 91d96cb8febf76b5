"""The IMAP bounce mailbox, against a real Dovecot started by the test: unseen mail read once,
marked \\Seen (and \\Flagged when not understood), mail kept aside moved into a folder of its own;
bad URLs and logins are clear errors."""

from __future__ import annotations

import pytest

from bounce_samples import Rcpt, dsn, out_of_office
from imap_server import PASSWORD, imap_server  # noqa: F401
from preferences.mail.imap import BadMailbox, ImapFolder, MailboxUnavailable
from preferences.mail.sources import BadSource, open_source


def test_unseen_mail_is_read_once_and_marked(imap_server):
    mails = [dsn("bounces@nordhaus.example", [Rcpt(f"k{n}@example.com")], report_id=f"<r{n}@mx>") for n in range(3)]
    imap_server.deliver(*mails, out_of_office("bounces@nordhaus.example"))
    folder = ImapFolder(imap_server.url(), PASSWORD)
    try:
        assert folder.count_unread() == 4
        read = list(folder.unread_bytes())
        assert [raw.replace(b"\r\n", b"\n") for _, raw in read[:3]] == [m.replace(b"\r\n", b"\n") for m in mails]
        first, second, third, junk = (key for key, _ in read)
        folder.mark(first, understood=True)
        folder.mark(second, understood=False)
        where = folder.set_aside(junk, "Unparseable")
    finally:
        folder.close()
    assert where == f"imap://bounces@127.0.0.1:{imap_server.port}/Unparseable"
    assert imap_server.flags() == [{"\\Seen"}, {"\\Seen", "\\Flagged"}, set()]
    assert imap_server.flags("Unparseable") == [{"\\Flagged"}]
    again = ImapFolder(imap_server.url(), PASSWORD)
    try:
        assert [key for key, _ in again.unread_bytes()] == [third]
    finally:
        again.close()


def test_many_messages_are_fetched_in_chunks(imap_server):
    imap_server.deliver(*[out_of_office(f"n{n}@example.com") for n in range(120)])
    folder = ImapFolder(imap_server.url(), PASSWORD)
    try:
        keys = [key for key, _ in folder.unread_bytes()]
    finally:
        folder.close()
    assert len(keys) == 120 and keys == sorted(keys, key=int)


def test_a_wrong_password_or_mailbox_is_a_clear_error(imap_server):
    with pytest.raises(MailboxUnavailable, match="AUTHENTICATIONFAILED|Authentication failed"):
        ImapFolder(imap_server.url(), "wrong")
    with pytest.raises(MailboxUnavailable, match="no mailbox 'Nowhere'"):
        ImapFolder(imap_server.url("Nowhere"), PASSWORD)


@pytest.mark.parametrize("url, message", [
    ("imap://127.0.0.1/INBOX", "no IMAP mailbox"),
    ("imap://bounces:secret@127.0.0.1/INBOX", "put no password in the URL"),
    ("imap://bounces@127.0.0.1:99999/INBOX", "99999"),
    ("imap://bounces@127.0.0.1/INBOX%22", "mailbox name"),
])
def test_a_bad_imap_url_is_refused_before_connecting(url, message):
    with pytest.raises(BadMailbox, match=message):
        ImapFolder(url, PASSWORD)
    with pytest.raises(BadSource, match=message):
        open_source(url, PASSWORD)


def test_no_password_is_a_bad_source():
    with pytest.raises(BadSource, match="NEWSLETTER_BOUNCE_IMAP_PASSWORD"):
        open_source("imap://bounces@127.0.0.1/INBOX", None)


def test_an_unreachable_server_is_unavailable():
    from send_fixtures import free_port

    with pytest.raises(MailboxUnavailable, match="refused|Connection"):
        open_source(f"imaps://bounces@127.0.0.1:{free_port()}/INBOX", PASSWORD)
