"""What customers send by mail and the preference centre acts on: unsubscribe requests to the
List-Unsubscribe mailto address (``unsubscribe``). Reads messages handed to it; fetching them
(a Maildir, later IMAP) is the caller's."""
