import hashlib
import json
from datetime import date

import pytest

from preferences.consent import client_hash, encode_value
from preferences.models import Frequency, new_public_id


def test_client_hash_is_sha256_hex_of_ip_and_user_agent():
    value = client_hash("203.0.113.7", "Mozilla/5.0")
    assert value == hashlib.sha256("203.0.113.7\nMozilla/5.0".encode()).hexdigest()
    assert len(value) == 64
    assert client_hash("203.0.113.7", "Mozilla/5.0 X") != value
    assert len(client_hash(None, None)) == 64


@pytest.mark.parametrize("value, text", [
    (None, None),
    (Frequency.MONTHLY, '"monthly"'),
    (date(2026, 12, 7), '"2026-12-07"'),
    (["kids", "outdoor"], '["kids", "outdoor"]'),
    ({"b": 1, "a": "ä"}, '{"a": "ä", "b": 1}'),
    (frozenset({"b", "a"}), '["a", "b"]'),
])
def test_values_are_recorded_as_json_text(value, text):
    assert encode_value(value) == text
    if text is not None:
        json.loads(text)


def test_unrecordable_values_are_refused():
    with pytest.raises(TypeError):
        encode_value(object())


def test_public_ids_are_22_url_safe_characters():
    ids = {new_public_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(len(i) == 22 and set(i) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
               for i in ids)
