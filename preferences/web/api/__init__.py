"""The operator's JSON API under ``/api``: its routes, request reading, JSON answers and the
OpenAPI document.

May import: ``preferences`` and ``preferences.web.centre``.
"""
