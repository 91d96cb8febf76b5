"""Double opt-in: how a customer asks for newsletters, proves the address is theirs, and what is
kept as proof.

Owns: the tables (``tables``): ``opt_in`` (one row per request to subscribe: where it came from,
what was asked for, the consent wording shown, and once confirmed the confirmation's time, client
and wording), ``consent_text`` (every wording ever shown, by version) and ``outbox`` (the mails
the service owes a customer outside the newsletter, e.g. the confirmation, queued in the same
transaction as the request and sent by the service's outbox worker); the request
(``requests``: signup, a resubscribe, a customer created pending), the confirmation
(``confirmation``), who confirmed their first signup when (``confirmed``: the welcome mail's
audience), the versions of the consent wording (``wording``) and what happens to
requests nobody confirms (``expiry``).

May import: ``preferences``; never ``service`` or the web.
"""
