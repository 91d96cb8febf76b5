"""Addresses the service must not mail, and the bounce and complaint reports behind them.

Owns: the tables (``tables``): ``suppression`` (one row per suppressed address, by its lowercased
form, so a re-imported customer stays suppressed) and ``bounce_report`` (every delivery status
notification, feedback-loop complaint and relay webhook event that was matched and recorded).

May import: ``preferences`` (the customers, the consent trail); never ``service`` or the web.
"""
