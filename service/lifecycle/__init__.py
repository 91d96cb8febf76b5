"""The mails of a customer's subscription, beside the newsletter itself.

Owns: the double opt-in confirmation mail (``confirmations``); bounce and complaint reports
matched to the delivery and customer they are about, and recorded (``bounces``).

May import: ``service.assembly`` (the one MIME builder), ``service.delivery``,
``service.sending`` (the delivery ledger a report's Message-ID is found in) and ``preferences``
(the customer's language and texts, the suppression rules). Never the web or CLI code.
"""
