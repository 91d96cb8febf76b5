import pytest

from preferences.attributes import Attribute
from preferences.customers import CustomerData, normalise_email, parse_customer
from preferences.errors import InvalidCustomer
from preferences.models import Status

SCHEMA = {
    "region": Attribute("region", "choice", values=("north", "south")),
    "purchasing_power": Attribute("purchasing_power", "number", min=1, max=5),
}


def parse(**raw):
    return parse_customer(raw, schema=SCHEMA, locales=("de", "en"))


def test_a_full_record():
    data = parse(external_id=" 4711 ", email="Anna.Schmidt@Example.DE", first_name=" Anna ", locale="en",
                 status="active", attributes={"region": "north", "purchasing_power": "4"})
    assert data == CustomerData(external_id="4711", email="Anna.Schmidt@example.de", first_name="Anna",
                                locale="en", status=Status.ACTIVE,
                                attributes={"region": "north", "purchasing_power": 4})


def test_a_minimal_record_leaves_the_rest_unset():
    data = parse(external_id=4711, email="a@example.com")
    assert data == CustomerData(external_id="4711", email="a@example.com")


def test_every_bad_field_is_named():
    with pytest.raises(InvalidCustomer) as error:
        parse(external_id="", email="not-an-email", first_name="A\nB", locale="fr", status="deleted",
              attributes={"region": "mars", "colour": "red"}, phone="123")
    assert set(error.value.errors) == {"external_id", "email", "first_name", "locale", "status",
                                       "attributes.region", "attributes.colour", "phone"}
    assert "de, en" in error.value.errors["locale"]
    assert "north, south" in error.value.errors["attributes.region"]


@pytest.mark.parametrize("email", [None, "", "a@", "@example.com", "a@localhost", "a b@example.com", 42])
def test_bad_emails(email):
    with pytest.raises(ValueError):
        normalise_email(email)


def test_email_domain_lowercased_in_ascii_local_part_kept():
    assert normalise_email("  Joerg.Mueller@Bücher.DE ") == "Joerg.Mueller@xn--bcher-kva.de"


def test_non_ascii_local_part_is_refused():
    # It would need SMTPUTF8 from every relay on the way; the CRM must give an ASCII address.
    with pytest.raises(ValueError, match="Internationalized characters before the @-sign"):
        normalise_email("jörg@example.com")


@pytest.mark.parametrize("external_id", [True, None, "x" * 129, "a\x00b", ["1"]])
def test_bad_external_ids(external_id):
    with pytest.raises(InvalidCustomer) as error:
        parse(external_id=external_id, email="a@example.com")
    assert set(error.value.errors) == {"external_id"}


def test_attributes_must_be_an_object():
    with pytest.raises(InvalidCustomer) as error:
        parse(external_id="1", email="a@example.com", attributes=["north"])
    assert set(error.value.errors) == {"attributes"}
