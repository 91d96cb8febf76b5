"""A render that runs too long is stopped in whichever thread it runs, by one watchdog thread per
process (service/content/markup/deadline.py)."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from service.content.markup.compose import RenderError
from service.content.markup.compose import _render as render
from service.content.markup.deadline import RenderTimeout, time_limit
from service.content.markup.limits import LimitExceeded


def _nested_loops() -> str:
    return ("{% set s = 'a' * 1000 %}{% for x in s %}{% for y in s %}{% for z in s %}"
            "{% endfor %}{% endfor %}{% endfor %}")


def test_a_render_that_runs_too_long_is_stopped():
    started = time.monotonic()
    with pytest.raises(RenderError, match="cannot render: took longer than 2 s to render"):
        render(_nested_loops(), {}, "b.mjml", 1)
    assert time.monotonic() - started < 3


def test_the_time_limit_works_in_a_worker_thread_and_leaves_other_threads_alone():
    outcome: dict[str, object] = {}

    def worker():
        try:
            render(_nested_loops(), {}, "b.mjml", 1)
        except RenderError as exc:
            outcome["worker"] = exc.message

    thread = threading.Thread(target=worker)
    thread.start()
    busy_until = time.monotonic() + 2.5
    while time.monotonic() < busy_until:  # this thread is busy too, and is not interrupted
        sum(range(1000))
    thread.join(5)
    assert str(outcome["worker"]).startswith("cannot render: took longer than")


def test_a_finished_block_is_never_interrupted_later():
    with time_limit(0.05):
        pass
    time.sleep(0.2)  # an exception left pending would be raised here
    with pytest.raises(RenderTimeout):
        with time_limit(0.05):
            while True:
                pass
    time.sleep(0.1)
    assert issubclass(RenderTimeout, LimitExceeded)


def test_a_short_limit_started_after_a_long_one_fires_first():
    started = time.monotonic()
    with time_limit(30):
        with pytest.raises(RenderTimeout):
            with time_limit(0.1):
                while True:
                    pass
    assert time.monotonic() - started < 2


def test_renders_start_no_thread_of_their_own():
    with time_limit():
        pass
    before = threading.active_count()
    for _ in range(200):
        render("<mj-text>{{ 1 + 1 }}</mj-text>", {}, "b.mjml", 1)
    assert threading.active_count() == before


def test_each_thread_is_stopped_on_its_own_deadline():
    stopped_after: dict[str, float] = {}

    def spin(name: str, seconds: float) -> None:
        try:
            with time_limit(seconds):
                deadline = time.monotonic() + 5
                while time.monotonic() < deadline:
                    pass
        except RenderTimeout:
            stopped_after[name] = time.monotonic() - begun

    begun = time.monotonic()
    threads = [threading.Thread(target=spin, args=(name, seconds)) for name, seconds in (("slow", 1.0), ("fast", 0.2))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert 0.2 <= stopped_after["fast"] < 1.0 <= stopped_after["slow"] < 4.0


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_has_a_watchdog_of_its_own():
    with time_limit():
        pass  # the parent's watchdog runs; the child has no copy of its thread
    child = os.fork()
    if child == 0:  # pragma: no cover (the child's exit code is the result)
        signal.alarm(5)  # without a watchdog the loop would never end: SIGALRM fails the test
        try:
            with time_limit(0.1):
                while True:
                    pass
        except RenderTimeout:
            os._exit(0)
        os._exit(1)
    _, status = os.waitpid(child, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
