"""What customers send by mail and the preference centre acts on.

Owns: unsubscribe requests to the List-Unsubscribe mailto address (``unsubscribe``), and a
Maildir read once message by message (``maildir``); bounces, complaints and IMAP will join them.

May import: ``preferences`` (the domain). Never ``service``.
"""
