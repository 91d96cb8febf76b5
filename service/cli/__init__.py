"""The ``newsletter`` command (``main``), an edge of the service.

Owns: the commands (``main``: check, owners, plan, preview, serve, db; ``sending``: send and
report, with their gates, the test send and what they print; ``customers``: import, demo CSV,
link; ``results``: the figures, refresh, prune and the demo's readers in ``demo_clicks``;
``unsubscribes``: the unsubscribe mails), their consoles, and the one place where domain errors
become messages and exit codes (``console``).

May import: everything in the service and in ``preferences``.
"""
