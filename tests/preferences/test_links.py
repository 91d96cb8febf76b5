import pickle
import re
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from preferences.errors import BadLink
from preferences.links import TOKEN_LENGTH, LinkSigner, Purpose, unverified_public_id
from preferences.models import new_public_id

OLD_KEY = b"old-key-0123456789abcdef"
NEW_KEY = b"new-key-0123456789abcdef"
ALPHABET = string.ascii_letters + string.digits + "-_"


@pytest.fixture
def signer():
    return LinkSigner([OLD_KEY])


@pytest.fixture
def pid():
    return new_public_id()


@pytest.mark.parametrize("purpose", list(Purpose))
def test_a_signed_token_verifies_for_its_purpose(signer, pid, purpose):
    token = signer.sign(pid, purpose)
    assert signer.verify(token, purpose) == pid
    assert signer.verify(token, purpose.value) == pid


def test_token_shape(signer, pid):
    token = signer.sign(pid, Purpose.PREFERENCES)
    assert len(token) == TOKEN_LENGTH == 45
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{22}", token)
    assert token.startswith(pid + ".")
    assert signer.sign(pid, Purpose.PREFERENCES) == token  # deterministic: no expiry, no nonce


@pytest.mark.parametrize("made_for", list(Purpose))
@pytest.mark.parametrize("used_for", list(Purpose))
def test_a_token_for_one_purpose_fails_for_every_other(signer, pid, made_for, used_for):
    token = signer.sign(pid, made_for)
    if made_for == used_for:
        assert signer.verify(token, used_for) == pid
    else:
        with pytest.raises(BadLink):
            signer.verify(token, used_for)


def test_every_single_character_change_is_refused(signer, pid):
    token = signer.sign(pid, Purpose.UNSUBSCRIBE)
    for position in range(len(token)):
        if token[position] == ".":
            continue
        for replacement in ALPHABET:
            if replacement == token[position]:
                continue
            tampered = token[:position] + replacement + token[position + 1:]
            with pytest.raises(BadLink):
                signer.verify(tampered, Purpose.UNSUBSCRIBE)


@pytest.mark.parametrize("cut", [1, 2, 10, 22, 23, 44, 45])
def test_truncated_tokens_are_refused(signer, pid, cut):
    token = signer.sign(pid, Purpose.PREFERENCES)
    with pytest.raises(BadLink) as error:
        signer.verify(token[:-cut], Purpose.PREFERENCES)
    assert error.value.reason == "malformed"


def test_another_customers_id_with_this_signature_is_refused(signer, pid):
    token = signer.sign(pid, Purpose.PREFERENCES)
    other = new_public_id()
    with pytest.raises(BadLink):
        signer.verify(other + token[22:], Purpose.PREFERENCES)


def test_rotation_old_key_still_verifies_new_key_signs(pid):
    old = LinkSigner([OLD_KEY])
    rotated = LinkSigner([NEW_KEY, OLD_KEY])
    old_token = old.sign(pid, Purpose.UNSUBSCRIBE)
    assert rotated.verify(old_token, Purpose.UNSUBSCRIBE) == pid  # last year's email still works
    new_token = rotated.sign(pid, Purpose.UNSUBSCRIBE)
    assert new_token != old_token
    assert LinkSigner([NEW_KEY]).verify(new_token, Purpose.UNSUBSCRIBE) == pid
    with pytest.raises(BadLink):
        old.verify(new_token, Purpose.UNSUBSCRIBE)  # signed with the new key, not the old one


def test_a_retired_or_unknown_key_is_refused(pid):
    token = LinkSigner([OLD_KEY]).sign(pid, Purpose.PREFERENCES)
    with pytest.raises(BadLink) as error:
        LinkSigner([NEW_KEY]).verify(token, Purpose.PREFERENCES)
    assert error.value.reason == "signature"
    with pytest.raises(BadLink):
        LinkSigner([b"attacker-key-0123456789"]).verify(token, Purpose.PREFERENCES)


def test_a_non_canonical_base64_spelling_is_refused(signer, pid):
    # 16 bytes leave 4 unused bits in the last character; another spelling decodes to the same
    # bytes and must still be refused, or tokens would be malleable.
    token = signer.sign(pid, Purpose.PREFERENCES)
    std = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"
    value = std.index(token[-1])
    sibling = std[value ^ 0b0001]
    with pytest.raises(BadLink):
        signer.verify(token[:-1] + sibling, Purpose.PREFERENCES)


@pytest.mark.parametrize("garbage", [
    None, 123, b"bytes", "", ".", "x" * 45, "a" * 22 + "." + "b" * 22 + "c",
    "a" * 22 + "/" + "b" * 22, "a" * 21 + "." + "b" * 23, " " + "a" * 21 + "." + "b" * 22,
    "ä" * 22 + "." + "b" * 22, "a" * 22 + ".b" + "\x00" * 21, "x" * 10_000_000,
    "../../etc/passwd", "%2e%2e%2f", "<script>alert(1)</script>",
])
def test_garbage_is_a_bad_link_not_a_crash(signer, garbage):
    with pytest.raises(BadLink) as error:
        signer.verify(garbage, Purpose.PREFERENCES)
    assert error.value.reason in ("malformed", "signature")


@settings(max_examples=300)
@given(st.text(alphabet=ALPHABET + ".", min_size=0, max_size=60))
def test_random_tokens_never_verify(text):
    with pytest.raises(BadLink):
        LinkSigner([OLD_KEY]).verify(text, Purpose.PREFERENCES)


def test_context_binds_the_token_to_stored_state(signer, pid):
    token = signer.sign(pid, Purpose.CONFIRM, context="v3")
    assert signer.verify(token, Purpose.CONFIRM, context="v3") == pid
    for other in ("", "v4", "v33"):
        with pytest.raises(BadLink):
            signer.verify(token, Purpose.CONFIRM, context=other)
    assert unverified_public_id(token) == pid


def test_unverified_public_id_checks_the_shape_only(signer, pid):
    with pytest.raises(BadLink):
        unverified_public_id("nope")
    forged = pid + "." + "A" * 22
    assert unverified_public_id(forged) == pid  # only the shape: verify() is still required
    with pytest.raises(BadLink):
        signer.verify(forged, Purpose.CONFIRM)


def test_sign_refuses_something_that_is_not_a_public_id(signer):
    for bad in ("short", "a" * 23, "a" * 21 + "/", "../" * 8):
        with pytest.raises(ValueError):
            signer.sign(bad, Purpose.PREFERENCES)


@pytest.mark.parametrize("keys", [[], (), b"a-single-bytes-key-0123", [b"short"], ["str-key-0123456789abc"]])
def test_keys_are_checked(keys):
    with pytest.raises((ValueError, TypeError)):
        LinkSigner(keys)


def test_unknown_purpose_is_a_programming_error(signer, pid):
    with pytest.raises(ValueError):
        signer.sign(pid, "admin")


def test_urls_for_each_page(signer, pid):
    base = "https://news.example.com/"
    for purpose, path in [(Purpose.PREFERENCES, "/preferences/"), (Purpose.UNSUBSCRIBE, "/unsubscribe/"),
                          (Purpose.VIEW, "/view/"), (Purpose.CONFIRM, "/confirm/")]:
        url = signer.url(base, pid, purpose)
        assert url.startswith("https://news.example.com" + path)
        token = url.rsplit("/", 1)[1]
        assert signer.verify(token, purpose) == pid
        assert signer.path(pid, purpose) == path + token


def test_a_signer_can_be_sent_to_a_worker_process(signer, pid):
    clone = pickle.loads(pickle.dumps(signer))
    assert clone.sign(pid, Purpose.VIEW) == signer.sign(pid, Purpose.VIEW)


def test_repr_does_not_show_keys(signer):
    assert "0123456789" not in repr(signer)
    assert "1 keys" in repr(signer)


# -- sealed values (a tracked link's target) ------------------------------------------------
@given(st.text(max_size=300))
@settings(max_examples=200)
def test_seal_gives_back_any_text_unchanged(text):
    signer = LinkSigner([OLD_KEY])
    sealed = signer.seal(text, Purpose.CLICK)
    assert re.fullmatch(r"[A-Za-z0-9_-]*\.[A-Za-z0-9_-]{22}", sealed)
    assert signer.unseal(sealed, Purpose.CLICK) == text


DICTIONARY = b"https://www.?utm_source=newsletter&utm_medium=email"


@given(st.text(max_size=300))
@settings(max_examples=200)
def test_a_deflated_seal_gives_back_any_text_unchanged(text):
    signer = LinkSigner([OLD_KEY])
    sealed = signer.seal(text, Purpose.CLICK, DICTIONARY)
    assert re.fullmatch(r"~[A-Za-z0-9_-]*\.[A-Za-z0-9_-]{22}", sealed)
    assert signer.unseal(sealed, Purpose.CLICK, DICTIONARY) == text


def test_deflating_against_a_dictionary_shortens_a_link_target():
    text = "weekly/2026-11-23\x1flayout\x1f\x1f0\x1fhttps://www.shop.example/?utm_source=newsletter&utm_medium=email"
    plain, deflated = (LinkSigner([OLD_KEY]).seal(text, Purpose.CLICK, d) for d in (None, DICTIONARY))
    assert len(deflated) < 0.7 * len(plain)


def test_a_deflated_seal_needs_its_dictionary_and_a_plain_one_opens_with_or_without():
    signer = LinkSigner([OLD_KEY])
    with pytest.raises(BadLink):
        signer.unseal(signer.seal("https://shop.example/", Purpose.CLICK, DICTIONARY), Purpose.CLICK)
    # Links sealed before there was a dictionary keep working when one is given.
    assert signer.unseal(signer.seal("https://shop.example/", Purpose.CLICK), Purpose.CLICK,
                         DICTIONARY) == "https://shop.example/"


def test_a_deflated_seal_is_never_inflated_past_the_limit():
    signer = LinkSigner([OLD_KEY])
    sealed = signer.seal("a" * 100_000, Purpose.CLICK, DICTIONARY)  # signed by a key holder: still refused
    assert len(sealed) < 4096
    with pytest.raises(BadLink):
        signer.unseal(sealed, Purpose.CLICK, DICTIONARY)


def test_a_sealed_value_survives_key_rotation_and_nothing_else():
    sealed = LinkSigner([OLD_KEY]).seal("https://shop.example/ä?x=1", Purpose.CLICK)
    assert LinkSigner([NEW_KEY, OLD_KEY]).unseal(sealed, Purpose.CLICK) == "https://shop.example/ä?x=1"
    body, signature = sealed.split(".")
    for changed in (sealed[:-1] + ("A" if sealed[-1] != "A" else "B"), ("B" if body[0] == "A" else "A") + sealed[1:],
                    body, "." + signature, sealed + "A", "x" * 5000 + "." + signature, None, 7):
        with pytest.raises(BadLink):
            LinkSigner([NEW_KEY, OLD_KEY]).unseal(changed, Purpose.CLICK)
    with pytest.raises(BadLink):
        LinkSigner([NEW_KEY]).unseal(sealed, Purpose.CLICK)  # the signing key retired
    with pytest.raises(BadLink):
        LinkSigner([OLD_KEY]).unseal(sealed, Purpose.VIEW)  # sealed for another purpose
