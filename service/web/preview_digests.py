"""The rankings the staff preview shows a best-of edition by (template.yaml's ``digest:``): the
one a send decided for the edition, else measured now from the results; none (every block thin:
the normal rules) when the results database cannot be read. Read only: a GET changes nothing."""

from __future__ import annotations

import threading
from datetime import date

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from preferences.database import make_engine
from service.assembly.digest import Ranking
from service.content.model import Content, Template
from service.results.best_of import rankings_for


class DigestRankings:
    """``rankings(content, template, day)``, on the app's engine (or one made at the first call)."""

    def __init__(self, database_url: str, engine: Engine | None = None):
        self.database_url = database_url
        self._engine = engine
        self._lock = threading.Lock()

    def __call__(self, content: Content, template: Template, day: date) -> dict[str, Ranking]:
        if not template.digests:
            return {}
        with self._lock:
            if self._engine is None:
                self._engine = make_engine(self.database_url)
        try:
            with self._engine.connect() as conn:
                return rankings_for(conn, content, template.id, day)
        except SQLAlchemyError:
            return {}
