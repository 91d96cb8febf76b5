"""Test, then send the winner: the decisions of the experiments of a tested edition.

Owns the decision table (``tables``: one row per experiment and edition, written before any
winner mail is sent), the significance test (``significance``: Fisher's exact test per arm
against the original, Holm's correction for several arms), the measured figures per arm read
from the results rollups (``measured``), the decisions themselves, automatic or by hand
(``decisions``), and what ``send --due`` does with a tested edition (``phases``: decide once
``decide_after`` is over, then release the held customers to the winner).

The two phases in the ledger (the sample, the held rows, their release) are
``service.sending.phases``'s; this package decides, the ledger sends.

May import ``service.results`` (the rollups), ``service.sending`` (the ledger and its runs),
``service.content`` and ``preferences``; the CLI and the web app import it.
"""
