"""Results: what the readers did with the editions (clicks per block, link and team; churn and
the narrower choices made instead).

Owns the results tables (``tables``: clicks and the rollups), the clicks' writer (``recorder``:
buffered, batched, never in the redirect's way), the machine-click rule (``machines``), the
rollups (``refresh``, with ``audience``: deliveries and attributed preference changes), the
figures read from them (``figures``) and their one shape for tables, CSV and JSON (``export``),
retention (``retention``), and the ranking of a best-of edition for slower readers
(``best_of``).

May import ``service.assembly`` (the tracked link's target), ``service.sending`` (the ledger's
tables and what each variant held, read for attribution) and ``preferences``; the web app and
the CLI import it, never the other way round.
"""
