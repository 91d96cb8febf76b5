"""`newsletter send` and `newsletter report` (``command``), with the gates before and after a run
(``gates``: the plan and the judgement of a run; ``links``: links a real relay must not get), the
test send to seed addresses (``seed``: the sample and its mails, not a run; ``proofs``: the command), what ``--due`` owes besides the editions
(``owed_mail``: the outbox, unconfirmed signups) and what they print (``display``).

May import: what ``service.cli`` may (everything in the service and in ``preferences``)."""
