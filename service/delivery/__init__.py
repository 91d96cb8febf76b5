"""Handing one rendered message to its destination, and what came of it.

Owns: the envelope, the result states and the ``Deliverer``/``Target`` protocols (``base``); one
module per destination that parses its own ``--to`` URL and delivers (``maildir``, ``spool``,
``smtp``, whose words for a relay that cannot be used are ``smtp_reasons``'); and the scheme
registry (``registry``). A new destination is a new module and a line in the registry.

May import: nothing of the service or of preferences (it moves bytes, whatever they say).
"""
