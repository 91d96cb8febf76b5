"""Migration 0011 on a database that already has pending customers: each gets a request, so its
confirm link expires like every other, and the revision goes down again cleanly."""

from datetime import datetime, timedelta, timezone

from sqlalchemy import select, text

from preferences.database import downgrade, make_engine, upgrade
from preferences.optin.tables import opt_in


def test_customers_pending_before_the_revision_get_a_request_from_their_last_change(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0010")
    engine = make_engine(url)
    changed = datetime(2026, 11, 30, 8, 0)
    with engine.begin() as conn:
        for n, status in enumerate(("pending", "active"), start=1):
            conn.execute(text("INSERT INTO customer (id, public_id, external_id, email, locale, attributes, status, "
                              "created_at, updated_at) VALUES (:id, :pid, :ext, :email, 'de', '{}', :status, :at, :at)"),
                         {"id": n, "pid": f"{n:022d}", "ext": f"C{n}", "email": f"c{n}@example.com", "status": status,
                          "at": changed})
    upgrade(url)
    with engine.connect() as conn:
        rows = conn.execute(select(opt_in.c.customer_id, opt_in.c.channel, opt_in.c.requested_at,
                                   opt_in.c.expires_at)).all()
    assert [(r.customer_id, r.channel) for r in rows] == [(1, "page")]
    assert rows[0].requested_at == changed.replace(tzinfo=timezone.utc)
    assert rows[0].expires_at - rows[0].requested_at == timedelta(days=7)
    downgrade(url, "0010")
    upgrade(url)
    engine.dispose()
