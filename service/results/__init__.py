"""Results: what the readers did with an edition (clicks per block, link and team).

Owns the click table (``tables``) and its writer (``recorder``: buffered, batched, never in the
redirect's way). May import ``service.assembly`` (the tracked link's target), ``service.sending`` (the ledger's
tables, read for attribution) and ``preferences``; the web app and the CLI import it, never the
other way round.
"""
