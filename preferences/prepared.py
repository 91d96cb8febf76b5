"""Core statements compiled once per database and run on the DBAPI cursor: the pages' hot path.

The preference page reads one row per view and writes a handful per save. For such one-row
statements SQLAlchemy's execution layer (execution context, events, result objects) cost several
times the database's own work (README, "Measured reasons"). ``Prepared`` sends what
SQLAlchemy would send: the statement as the dialect compiles it, the parameters through their
types' bind processors, the rows through the columns' result processors. Transactions stay
SQLAlchemy's (``engine.begin()``, its events and pool); a driver error is raised as SQLAlchemy's
``DBAPIError``, as from any other query.

Only for statements without expanding parameters (no ``IN`` lists) and without server-side
defaults to fetch back; everything else uses ``Connection.execute``.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping, Sequence
from weakref import WeakKeyDictionary

from sqlalchemy import Connection, Engine
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]  # the parameters in the order a positional driver wants them
    positional: bool
    defaults: Mapping[str, Any]  # literal values the statement binds itself (``version + 1``)
    binders: Mapping[str, Callable[[Any], Any]]
    readers: tuple[Callable[[Any], Any] | None, ...]


class Prepared:
    """One statement, compiled on first use for each dialect."""

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._compiled: WeakKeyDictionary[Dialect, _Compiled] = WeakKeyDictionary()

    def first(self, engine: Engine, params: Mapping[str, Any]) -> tuple | None:
        """The first row of the statement, on a connection of its own (no transaction needed)."""
        compiled = self._for(engine.dialect)
        connection = engine.raw_connection()
        try:
            with _errors_raised(engine.dialect, compiled.sql, params):
                cursor = connection.cursor()
                try:
                    cursor.execute(compiled.sql, self._bound(compiled, params))
                    row = cursor.fetchone()
                finally:
                    cursor.close()
        finally:
            connection.close()
        return self._read(compiled, row)

    def first_in(self, conn: Connection, params: Mapping[str, Any]) -> tuple | None:
        """The first row of the statement, in ``conn``'s transaction."""
        compiled = self._for(conn.dialect)
        with _errors_raised(conn.dialect, compiled.sql, params), _cursor(conn) as cursor:
            cursor.execute(compiled.sql, self._bound(compiled, params))
            return self._read(compiled, cursor.fetchone())

    def run_in(self, conn: Connection, params: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> None:
        """Run the statement in ``conn``'s transaction, once per parameter set if given several."""
        compiled = self._for(conn.dialect)
        with _errors_raised(conn.dialect, compiled.sql, params), _cursor(conn) as cursor:
            if isinstance(params, Mapping):
                cursor.execute(compiled.sql, self._bound(compiled, params))
            else:
                cursor.executemany(compiled.sql, [self._bound(compiled, one) for one in params])

    def _for(self, dialect: Dialect) -> _Compiled:
        compiled = self._compiled.get(dialect)
        if compiled is None:
            compiled = self._compiled[dialect] = _compile(self.statement, dialect)
        return compiled

    @staticmethod
    def _bound(compiled: _Compiled, params: Mapping[str, Any]):
        values = {**compiled.defaults, **params}
        for name, bind in compiled.binders.items():
            values[name] = bind(values[name])
        if compiled.positional:
            return tuple(values[name] for name in compiled.names)
        return values

    @staticmethod
    def _read(compiled: _Compiled, row) -> tuple | None:
        if row is None:
            return None
        return tuple(value if read is None else read(value) for read, value in zip(compiled.readers, row))


def _compile(statement: ClauseElement, dialect: Dialect) -> _Compiled:
    compiled = statement.compile(dialect=dialect)
    binders = {}
    for name in compiled.params:  # the statement's own parameters (binds also lists internal ones)
        process = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            binders[name] = process
    readers = tuple(column.type.dialect_impl(dialect).result_processor(dialect, None)
                    for column in getattr(statement, "selected_columns", ()))
    positional = compiled.positiontup is not None
    return _Compiled(compiled.string, tuple(compiled.positiontup or ()), positional,
                     {name: value for name, value in compiled.params.items() if value is not None},
                     binders, readers)


@contextmanager
def _cursor(conn: Connection) -> Iterator[Any]:
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        yield cursor
    finally:
        cursor.close()


@contextmanager
def _errors_raised(dialect: Dialect, sql: str, params) -> Iterator[None]:
    error_class = dialect.loaded_dbapi.Error
    try:
        yield
    except error_class as error:
        raise DBAPIError.instance(sql, params, error, error_class, dialect=dialect) from error
