"""A real IMAP server for the tests: Dovecot (Debian's dovecot-imapd, installed by .ci/run),
started per test on a free port of 127.0.0.1 with a configuration of its own, and stopped after.

One user (any name, password ``PASSWORD``: a static passdb), mail in a Maildir under the
server's folder. Run as root (as here and in CI), Dovecot's login and auth processes run as its
own unprivileged users and the mail as the ``dovecot`` user, so the server's folder is one they
can enter (a fresh folder under /tmp, not pytest's private tmp_path). Without the binary the
tests skip, or fail where NEWSLETTER_REQUIRE_SERVICES=1 (CI).

Import the fixture into a test module: ``from imap_server import imap_server  # noqa: F401``.
"""

from __future__ import annotations

import grp
import imaplib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from send_fixtures import free_port

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
PASSWORD = "imap-test-password"
USER = "bounces"


@dataclass
class ImapServer:
    host: str
    port: int
    folder: Path

    def url(self, mailbox: str = "INBOX", user: str = USER) -> str:
        return f"imap://{user}@{self.host}:{self.port}/{mailbox}"

    def client(self) -> imaplib.IMAP4:
        client = imaplib.IMAP4(self.host, self.port, timeout=10)
        client.login(USER, PASSWORD)
        return client

    def deliver(self, *mails: bytes, mailbox: str = "INBOX") -> None:
        client = self.client()
        try:
            for raw in mails:
                status, answer = client.append(mailbox, None, None, raw)
                assert status == "OK", answer
        finally:
            client.logout()

    def flags(self, mailbox: str = "INBOX") -> list[set[str]]:
        """The flags of every message in ``mailbox``, in order."""
        client = self.client()
        try:
            client.select(f'"{mailbox}"', readonly=True)
            status, data = client.fetch("1:*", "(FLAGS)")
            if data == [None]:
                return []
            return [{flag.decode() for flag in imaplib.ParseFlags(item)} - {"\\Recent"}  # the server's own
                    for item in data if isinstance(item, bytes)]
        finally:
            client.logout()


def _config(folder: Path, port: int) -> str:
    if os.geteuid() == 0:
        mail_user, internal, login = "dovecot", "dovecot", "dovenull"
        uid = pwd.getpwnam(mail_user).pw_uid
    else:
        mail_user = internal = login = pwd.getpwuid(os.geteuid()).pw_name
        uid = os.geteuid()
    group = grp.getgrgid(pwd.getpwnam(mail_user).pw_gid).gr_name
    return f"""
base_dir = {folder}/run
state_dir = {folder}/state
log_path = {folder}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
auth_failure_delay = 0
default_internal_user = {internal}
default_internal_group = {group}
default_login_user = {login}
first_valid_uid = {uid}
passdb {{
  driver = static
  args = password={PASSWORD}
}}
userdb {{
  driver = static
  args = uid={mail_user} gid={group} home={folder}/home/%u
}}
mail_location = maildir:~/Maildir
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


@pytest.fixture
def imap_server():
    if not Path(DOVECOT).exists():
        if os.environ.get("NEWSLETTER_REQUIRE_SERVICES") == "1":
            pytest.fail("required service missing: dovecot (apt-get install dovecot-imapd)")
        pytest.skip("no IMAP server: dovecot is not installed (apt-get install dovecot-imapd)")
    folder = Path(tempfile.mkdtemp(prefix="newsletter-imap-"))
    folder.chmod(0o755)
    for sub in ("run", "state", "home"):
        (folder / sub).mkdir()
    if os.geteuid() == 0:
        shutil.chown(folder / "home", "dovecot", "dovecot")
    port = free_port()
    (folder / "dovecot.conf").write_text(_config(folder, port))
    server = subprocess.Popen([DOVECOT, "-F", "-c", str(folder / "dovecot.conf")], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                imaplib.IMAP4("127.0.0.1", port, timeout=2).logout()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    log = (folder / "dovecot.log").read_text() if (folder / "dovecot.log").exists() else ""
                    raise RuntimeError(f"dovecot did not start: {server.stdout.read().decode()} {log}") from None
                time.sleep(0.05)
        yield ImapServer("127.0.0.1", port, folder)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        shutil.rmtree(folder, ignore_errors=True)
