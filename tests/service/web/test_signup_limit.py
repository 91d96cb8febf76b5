"""The signup form's per-client rate limit, with the real `limits` library in memory."""

from service.web.signup_limit import signup_limit


def test_each_client_has_its_own_window_and_the_limit_holds():
    allowed = signup_limit("3/hour", "memory://", b"secret-0123456789")
    assert [allowed("203.0.113.7") for _ in range(4)] == [True, True, True, False]
    assert allowed("203.0.113.8") and allowed("2001:db8::1")


def test_separate_limiters_count_apart():
    one, two = (signup_limit("1/minute", "memory://", b"secret-0123456789") for _ in range(2))
    assert one("198.51.100.1") and not one("198.51.100.1")
    assert two("198.51.100.1")
