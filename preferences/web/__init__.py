"""The preference centre over HTTP: the customers' pages and the operator's JSON API (``api``).

Owns: what the pages and API run on (``centre``: the Centre and its Catalogue), the pages
(``pages``, ``subscription_pages``, their views, forms, wording and i18n), CSRF, and the API.

May import: ``preferences`` (the domain). Never ``service``.
"""
