import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from preferences.models import new_public_id
from preferences.suppression import return_path as return_path_module
from preferences.suppression.return_path import ReturnPath

KEY, OLD_KEY = b"k" * 32, b"o" * 32


def test_the_return_path_names_the_customer_whatever_case_it_comes_back_in():
    paths = ReturnPath("bounces@Nordhaus.example", [KEY])
    for _ in range(200):
        public_id = new_public_id()
        address = paths.for_customer(public_id)
        local, _, domain = address.partition("@")
        assert domain == "nordhaus.example" and local.startswith("bounces+")
        assert len(local) <= 64 and address == address.lower()
        assert paths.public_id_of(address) == public_id
        assert paths.public_id_of(address.upper()) == public_id
        assert paths.public_id_of(f"<{address}>") == public_id


def test_rotated_keys_still_read_old_return_paths():
    public_id = new_public_id()
    old = ReturnPath("bounces@nordhaus.example", [OLD_KEY]).for_customer(public_id)
    rotated = ReturnPath("bounces@nordhaus.example", [KEY, OLD_KEY])
    assert rotated.public_id_of(old) == public_id
    assert rotated.for_customer(public_id) != old


@pytest.mark.parametrize("junk", [
    None, 42, "", "bounces@nordhaus.example", "anna@example.com", "bounces+@nordhaus.example",
    "x" * 400, "bounces+abc-def@nordhaus.example",
])
def test_anything_else_names_nobody(junk):
    assert ReturnPath("bounces@nordhaus.example", [KEY]).public_id_of(junk) is None


def test_a_forged_or_foreign_return_path_names_nobody():
    paths = ReturnPath("bounces@nordhaus.example", [KEY])
    address = paths.for_customer(new_public_id())
    local, _, _ = address.partition("@")
    forged = local[:-1] + ("a" if local[-1] != "a" else "b") + "@nordhaus.example"
    assert paths.public_id_of(forged) is None
    assert paths.public_id_of(local + "@other.example") is None
    assert paths.public_id_of(address.replace("bounces+", "news+")) is None
    assert ReturnPath("bounces@nordhaus.example", [OLD_KEY]).public_id_of(address) is None


def test_only_a_public_id_as_the_service_makes_them_has_a_return_path():
    with pytest.raises(ValueError):
        ReturnPath("bounces@nordhaus.example", [KEY]).for_customer("pub0000000000000000001")  # not canonical


@pytest.mark.parametrize("bad", ["bounces", "@nordhaus.example", "bounces+x@nordhaus.example", "bounces@"])
def test_a_bounce_address_must_be_plain(bad):
    with pytest.raises(ValueError):
        ReturnPath(bad, [KEY])


@given(st.binary(max_size=40))
def test_the_base32_of_a_return_path_is_the_standard_one(raw):
    # Return paths already sent must keep reading back: the encoder is RFC 4648's, lowercased.
    assert return_path_module._b32(raw) == base64.b32encode(raw).decode("ascii").rstrip("=").lower()
