"""Alembic environment for the newsletter schema (SQLite and PostgreSQL).

The database URL comes, in this order, from ``-x url=...`` on the command line, from
``config.attributes["url"]`` (set by ``preferences.database.upgrade``) or from ``sqlalchemy.url``
in alembic.ini. An open connection in ``config.attributes["connection"]`` is used as it is.
Nothing here reads environment variables: settings are resolved at the edge.
"""

from logging.config import fileConfig

from alembic import context
from sqlmodel import SQLModel

import preferences.models  # noqa: F401  (puts the preference tables on SQLModel.metadata)
from preferences.database import make_engine

# Packages that add tables import their models here too, so autogenerate sees every table.
import service.sending.tables  # noqa: F401,E402  (the send's delivery ledger: send_run, delivery)
import service.results.tables  # noqa: F401,E402  (clicks on tracked links)
import service.sending.contents  # noqa: F401,E402  (what each variant of an edition held)
import preferences.suppression.tables  # noqa: F401,E402  (the suppression list, bounce and complaint reports)
import preferences.optin.tables  # noqa: F401,E402  (double opt-in: requests, proof, consent wording, outbox)
import service.staff.tables  # noqa: F401,E402  (staff accounts and their audit trail)
import service.sending.archive  # noqa: F401,E402  (the archive of sent bodies: sent is sent)
import service.sending.digests  # noqa: F401,E402  (the best-of editions' rankings, decided once per edition)
import service.experiments.tables  # noqa: F401,E402  (the decisions of tested editions)

config = context.config
if config.config_file_name is not None:
    # Only when run from the command line; the service's own logging is left alone.
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = SQLModel.metadata


def database_url() -> str:
    url = (
        context.get_x_argument(as_dictionary=True).get("url")
        or config.attributes.get("url")
        or config.get_main_option("sqlalchemy.url")
    )
    if not url:
        raise RuntimeError("no database URL: pass -x url=... or set sqlalchemy.url")
    return url


def configure(**kwargs) -> None:
    dialect = kwargs["connection"].dialect.name if "connection" in kwargs else kwargs.pop("dialect_name")
    context.configure(
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things: Alembic rebuilds the table ("move and copy") instead.
        render_as_batch=dialect == "sqlite",
        compare_type=True,
        **kwargs,
    )


def run_offline() -> None:
    url = database_url()
    from sqlalchemy.engine import make_url

    configure(url=url, literal_binds=True, dialect_opts={"paramstyle": "named"},
              dialect_name=make_url(url).get_backend_name())
    with context.begin_transaction():
        context.run_migrations()


def run_on(connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # A batch migration drops and recreates a table; with foreign keys on, dropping
        # "customer" would cascade into "preference". The pragma only works outside a
        # transaction, so it goes straight to the driver before Alembic begins one.
        connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
    try:
        configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()
        if sqlite:
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            connection.commit()
            if broken:
                raise RuntimeError(f"migration left broken foreign keys: {broken[:5]}")
    finally:
        if sqlite:
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_on(connection)
        return
    engine = make_engine(database_url())
    try:
        with engine.connect() as connection:
            run_on(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
