"""The newsletter engine: from the editors' files to a personal email in every due inbox.

Packages, lowest first (tests/test_layering.py enforces who may import whom, and no cycles):

- ``content``: the editors' files, loaded into an immutable model and checked (``markup``: the
  language blocks and layouts are written in: sandboxed Jinja, MJML, personal fields);
- ``assembly``: which blocks a variant gets, compiled once, substituted per recipient, as MIME;
- ``delivery``: handing a message to a destination (Maildir, spool, SMTP), one module a target;
- ``sending``: a send run: plan, delivery ledger, batches, the local and Dramatiq engines;
- ``lifecycle``: the mails of a customer's subscription (the double opt-in confirmation);
- ``web`` and ``cli``: the edges, where settings are read and errors become statuses and exits.

``settings`` is the one value the edges read from the environment and pass down.
"""
