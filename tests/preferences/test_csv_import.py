"""Reading, checking and importing a CRM's CSV export; the database part on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from preferences import store
from preferences.csv_import import ImportFileError, find_conflicts, import_rows, parse_csv
from preferences.customers import CustomerData
from preferences.errors import Conflicts
from preferences.models import Channel, ConsentEvent, Customer, Status
from attribute_schema import ATTRIBUTES

LOCALES = ("de", "en")
HEADER = "external_id,email,first_name,locale,status,region,orders_12m,loyalty_member,last_order\n"


def parse(text: str | bytes):
    raw = text.encode("utf-8") if isinstance(text, str) else text
    return parse_csv(raw, schema=ATTRIBUTES, locales=LOCALES)


def errors_by_line(checked):
    return {error.line: dict(error.errors) for error in checked.errors}


def count(engine, model) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(model))


# Reading ---------------------------------------------------------------------------------------

def test_good_rows_are_normalised():
    checked = parse(HEADER
                    + "CRM-1,Anna@Example.COM, Anna ,en,,North,3,ja,2026-10-01\n"
                    + "CRM-2,juergen@example.org,Jürgen,,unsubscribed,,,,\n")
    assert checked.errors == []
    assert checked.attribute_columns == {"region", "orders_12m", "loyalty_member", "last_order"}
    (first, second) = checked.rows
    assert first.line == 2 and first.data == CustomerData(
        external_id="CRM-1", email="Anna@example.com", first_name="Anna", locale="en", status=None,
        attributes={"region": "north", "orders_12m": 3, "loyalty_member": True, "last_order": "2026-10-01"})
    assert second.line == 3
    assert (second.data.locale, second.data.status, second.data.attributes) == (None, Status.UNSUBSCRIBED, {})


def test_bom_crlf_and_semicolons_from_a_german_spreadsheet():
    text = "\ufeffexternal_id;email;first_name;region\r\nCRM-1;a@example.com;Käthe;süd\r\nCRM-2;b@example.com;\"Müller; Kai\";north\r\n"
    checked = parse(text.encode("utf-8"))
    assert [row.data.first_name for row in checked.rows] == ["Müller; Kai"]
    assert errors_by_line(checked) == {2: {"region": "'süd' is not one of north, south, east, west"}}


def test_without_attribute_columns_attributes_are_not_given():
    checked = parse("email,external_id\na@example.com,C1\n")
    assert checked.rows[0].data.attributes is None and checked.attribute_columns == frozenset()


def test_every_bad_row_is_reported_with_its_physical_line_and_columns():
    checked = parse(HEADER
                    + "CRM-1,a@example.com,Anna,de,,north,1,yes,\n"          # line 2: good
                    + "\n"                                                  # line 3: blank, skipped
                    + "CRM-2,not-an-email,Bob,fr,,mars,-1,vielleicht,2026-13-01\n"  # line 4
                    + 'CRM-3,c@example.com,"Line\nbreak",de,,north,,,\n'     # lines 5-6: one record
                    + "CRM-4,d@example.com,Dora,de,gone,north,,,\n"          # line 7
                    + ",e@example.com,,,,,,,\n"                             # line 8
                    + "CRM-6,f@example.com,Fritz\n")                        # line 9
    assert [row.line for row in checked.rows] == [2]
    errors = errors_by_line(checked)
    assert set(errors) == {4, 5, 7, 8, 9}
    assert set(errors[4]) == {"email", "locale", "region", "orders_12m", "loyalty_member", "last_order"}
    assert set(errors[5]) == {"first_name"}
    assert set(errors[7]) == {"status"}
    assert set(errors[8]) == {"external_id"}
    assert errors[9] == {"": "expected 9 fields like the header, found 3"}
    assert checked.errors[-1].messages() == ["expected 9 fields like the header, found 3"]
    assert checked.total == 6


def test_duplicates_within_the_file_are_errors_on_every_occurrence():
    checked = parse("external_id,email\nC1,a@example.com\nC2,b@example.com\nC1,c@example.com\nC3,A@EXAMPLE.com\n"
                    "C4,d@example.com\n")
    assert [row.line for row in checked.rows] == [3, 6]
    assert errors_by_line(checked) == {
        2: {"external_id": "the same external id is also on line 4", "email": "the same email is also on line 5"},
        4: {"external_id": "the same external id is also on line 2"},
        5: {"email": "the same email is also on line 2"},
    }


@pytest.mark.parametrize("text, message", [
    ("external_id,email,colour,shoe_size\n", "unknown column(s): colour, shoe_size (known: external_id, email, "),
    ("external_id,first_name\n", "missing column(s): email"),
    ("external_id,email,email\n", "column(s) named twice: email"),
    ("external_id,email,\n", "column(s) 3 have no name"),
    ("", "the file is empty"),
    ("\n\n", "the file is empty"),
])
def test_header_problems_stop_the_file(text, message):
    with pytest.raises(ImportFileError) as error:
        parse(text)
    assert any(line == 1 and problem.startswith(message) for line, problem in error.value.problems), error.value.problems


def test_a_file_that_is_not_utf8_names_the_line():
    with pytest.raises(ImportFileError) as error:
        parse("external_id,email,first_name\nC1,a@example.com,Anna\nC2,b@example.com,J\xfcrgen\n".encode("latin-1"))
    assert error.value.problems == [(3, "not UTF-8 (byte 0xfc in column 19): save the file as UTF-8")]


# Importing -------------------------------------------------------------------------------------

GOOD = (HEADER
        + "CRM-1,anna@example.com,Anna,de,,north,3,yes,2026-10-01\n"
        + "CRM-2,ben@example.org,Ben,en,,south,0,no,\n"
        + "CRM-3,chloe@example.net,Chloé,,,east,,,\n")


def test_import_creates_with_one_consent_event_each_and_a_rerun_changes_nothing(engine):
    checked = parse(GOOD)
    first = import_rows(engine, checked, default_locale="de")
    assert (first.created, first.updated, first.unchanged, first.skipped) == (3, 0, 0, 0)
    assert count(engine, Customer) == 3
    with Session(engine) as session:
        events = list(session.scalars(select(ConsentEvent)))
        assert [(e.field, e.channel) for e in events] == [("created", Channel.IMPORT)] * 3
        chloe = store.get_customer_by_external_id(session, "CRM-3")
        assert (chloe.locale, chloe.first_name, chloe.attributes) == ("de", "Chloé", {"region": "east"})

    again = import_rows(engine, parse(GOOD), default_locale="de")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert count(engine, ConsentEvent) == 3


def test_a_dry_run_counts_exactly_and_writes_nothing(engine):
    import_rows(engine, parse(GOOD), default_locale="de")
    changed = GOOD.replace("Ben,en", "Benjamin,en") + "CRM-4,dora@example.com,Dora,de,,west,,,\n"
    dry = import_rows(engine, parse(changed), default_locale="de", dry_run=True)
    assert (dry.created, dry.updated, dry.unchanged) == (1, 1, 2)
    assert count(engine, Customer) == 3 and count(engine, ConsentEvent) == 3
    with Session(engine) as session:
        assert store.get_customer_by_external_id(session, "CRM-2").first_name == "Ben"
    real = import_rows(engine, parse(changed), default_locale="de")
    assert (real.created, real.updated, real.unchanged) == (dry.created, dry.updated, dry.unchanged)


def test_attribute_columns_the_file_lacks_are_kept_and_empty_cells_remove(engine):
    import_rows(engine, parse(GOOD), default_locale="de")
    result = import_rows(engine, parse("external_id,email,orders_12m,loyalty_member\n"
                                       "CRM-1,anna@example.com,7,\n"), default_locale="de")
    assert (result.updated, result.created) == (1, 0)
    with Session(engine) as session:
        anna = store.get_customer_by_external_id(session, "CRM-1")
        assert anna.attributes == {"region": "north", "orders_12m": 7, "last_order": "2026-10-01"}
        assert anna.first_name == "Anna"  # no first_name column: kept


def test_status_is_withdrawn_but_never_granted_back_by_an_import(engine):
    import_rows(engine, parse(GOOD), default_locale="de")
    unsubscribed = import_rows(engine, parse(GOOD.replace("Anna,de,,", "Anna,de,unsubscribed,")), default_locale="de")
    assert unsubscribed.updated == 1
    back = import_rows(engine, parse(GOOD.replace("Anna,de,,", "Anna,de,active,")), default_locale="de")
    assert back.unchanged == 3
    with Session(engine) as session:
        anna = store.get_customer_by_external_id(session, "CRM-1")
        assert anna.status is Status.UNSUBSCRIBED
        assert [(e.field, e.new, e.channel) for e in store.list_consent_events(session, anna.id)][-1] == (
            "status", "unsubscribed", Channel.IMPORT)


def test_conflicts_with_stored_customers_are_found_before_writing(engine):
    import_rows(engine, parse(GOOD), default_locale="de")
    checked = parse("external_id,email\nCRM-9,ANNA@example.com\nCRM-2,ben@example.org\nCRM-8,new@example.com\n")
    with Session(engine) as session:
        conflicts = find_conflicts(session, checked.rows)
    assert [(error.line, dict(error.errors)) for error in conflicts] == [
        (2, {"email": "already belongs to customer CRM-1"})]
    checked.drop(conflicts)
    assert [row.line for row in checked.rows] == [3, 4] and [e.line for e in checked.errors] == [2]


def test_upsert_many_names_every_conflicting_item(engine):
    import_rows(engine, parse(GOOD), default_locale="de")
    items = [CustomerData("N1", "n1@example.com"), CustomerData("N2", "ben@example.org"),
             CustomerData("N3", "chloe@example.net")]
    with Session(engine) as session:
        with pytest.raises(Conflicts) as error:
            store.upsert_many(session, items, Channel.API, default_locale="de")
        session.rollback()
    assert set(error.value.errors) == {1, 2} and "email" in error.value.errors[1]
    assert count(engine, Customer) == 3


def test_batches_commit_one_by_one_and_report_progress(engine):
    rows = "".join(f"C{i},c{i}@example.com\n" for i in range(5))
    progress = []
    result = import_rows(engine, parse("external_id,email\n" + rows), default_locale="de", batch_size=2,
                         on_progress=progress.append)
    assert progress == [2, 2, 1] and result.created == 5 and result.seconds >= 0
    assert count(engine, Customer) == 5
