"""A send run: every due customer gets the edition exactly once, across crashes and re-runs.

Owns: what a run is and who gets what (``spec``), the delivery ledger (``ledger``), the plan that
fills it (``plan``), a worker's batch loop (``batch``), the engines that run the batches
(``local_engine``: processes on this machine; ``dramatiq_engine``: Dramatiq workers anywhere),
what ``send --due`` starts, newsletters' and event mails' editions (``due``), the best-of
variants' rankings a send decided (``digests``), the run's report (``report``), the two phases of
a tested edition in the ledger (``phases``: the test sample, the held rows, their release to the
winners; deciding is service/experiments'). Test sends to seed addresses are not runs: service/cli/sending/seed.py.

May import: ``service.assembly``, ``service.content``, ``service.delivery``, ``service.settings``
(a worker process is an edge of its own: it gets the settings in its SendSpec) and
``preferences``.
"""
