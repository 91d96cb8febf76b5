"""What customers send by mail and the preference centre acts on.

Owns: unsubscribe requests to the List-Unsubscribe mailto address (``unsubscribe``); the bounce
mailbox's mail read (``bounce_mail``): delivery status notifications (``delivery_status``, RFC
3464), feedback-loop complaints (``feedback_report``, RFC 5965) and the multipart/report parts
both share (``report_mime``); the mailboxes, read once message by message: a Maildir
(``maildir``), an IMAP mailbox (``imap``), and ``sources``, which opens either from ``--from``.

May import: ``preferences`` (the domain). Never ``service``.
"""
