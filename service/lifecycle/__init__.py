"""The mails of a customer's subscription, beside the newsletter itself.

Owns: the double opt-in confirmation mail (``confirmations``).

May import: ``service.assembly`` (the one MIME builder), ``service.delivery`` and
``preferences`` (the customer's language and texts). Never the web or CLI code.
"""
