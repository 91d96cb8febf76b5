"""What customers send by mail and the preference centre acts on.

Owns: unsubscribe requests to the List-Unsubscribe mailto address (``unsubscribe``); bounces
and complaints will join it. It reads messages handed to it; fetching them (a Maildir, later
IMAP) is the caller's.

May import: ``preferences`` (the domain). Never ``service``.
"""
