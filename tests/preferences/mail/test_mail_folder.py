"""The Maildir as the mail commands read it: unread messages once, marks by renaming, and a
message kept aside in a Maildir++ sub-folder a mail program shows."""

from __future__ import annotations

import mailbox

from preferences.mail.maildir import MailFolder


def test_messages_are_read_once_marked_and_kept_aside(tmp_path):
    box = mailbox.Maildir(tmp_path / "box", create=True)
    keys = [box.add(f"Subject: {n}\r\n\r\nbody {n}\r\n".encode()) for n in range(3)]
    seen_before = mailbox.MaildirMessage(b"Subject: old\r\n\r\n")
    seen_before.set_subdir("cur")
    seen_before.add_flag("S")
    box.add(seen_before)
    folder = MailFolder(tmp_path / "box")
    assert folder.count_unread() == 3
    read = dict(folder.unread_bytes())
    assert sorted(read) == sorted(keys) and read[keys[0]].endswith(b"body 0\r\n")
    folder.mark(keys[0], understood=True)
    folder.mark(keys[1], understood=False)
    assert folder.set_aside(keys[2], "Unparseable") == f"maildir:{tmp_path / 'box' / '.Unparseable'}"
    box = mailbox.Maildir(tmp_path / "box", create=False)
    assert sorted((m.get_subdir(), m.get_flags()) for m in box) == [("cur", "FS"), ("cur", "S"), ("cur", "S")]
    aside = box.get_folder("Unparseable")
    assert [(m.get_subdir(), m.get_flags(), m["Subject"]) for m in aside] == [("cur", "F", "2")]
    assert (tmp_path / "box" / ".Unparseable" / "maildirfolder").exists()
    assert MailFolder(tmp_path / "box").count_unread() == 0
