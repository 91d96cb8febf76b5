"""The ``newsletter`` command (``main``), an edge of the service.

Owns: the commands (``main``: check, owners, plan, preview, serve, db; ``send``: send and
report; ``customers``: import, demo CSV, link), their consoles, and the one place where domain
errors become messages and exit codes (``console``).

May import: everything in the service and in ``preferences``.
"""
