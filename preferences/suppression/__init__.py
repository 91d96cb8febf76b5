"""Addresses the service must not mail, and the bounce and complaint reports behind them.

Owns: the tables (``tables``): ``suppression`` (one row per suppressed address, by its lowercased
form, so a re-imported customer stays suppressed) and ``bounce_report`` (every delivery status
notification, feedback-loop complaint and relay webhook event that was matched and recorded);
the list's writes and lookups (``store``); the list as an operator pages through it, each entry
with its customer and reports (``entries``); the signed VERP return paths (``return_path``); a
report as the rules read it and what its codes mean (``reports``); the rules of recording: hard
at once, soft after repeats, complaints unsubscribe (``recording``).

May import: ``preferences`` (the customers, the consent trail); never ``service`` or the web.
"""
