"""The web application: ``create_app(settings)`` (``app``), an edge of the service.

Owns: the one registry of exception handlers that turns domain errors into statuses and pages
(``errors``), the security headers, the staff preview (``preview``), the web version of an email
(``web_version``), the tracked links' redirect (``redirect``), and the preference centre's
wiring to the engine (``catalogue``).

May import: everything below it in the service (``content``, ``assembly``, ``delivery``,
``sending`` (the web version reads the ledger and the archive of what was sent), ``lifecycle``,
``results``, ``settings``) and ``preferences`` with ``preferences.web``. Not ``service.cli``.
"""
