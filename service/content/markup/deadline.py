"""The time limit of one render: ``RenderTimeout`` in the rendering thread once it overran.

One watchdog thread per process keeps every running render's deadline in a heap, sleeps until the
earliest, and raises ``RenderTimeout`` asynchronously in the thread of a render that is still
running then (CPython's ``PyThreadState_SetAsyncExc``), so the limit works in any thread and any
worker process, unlike SIGALRM. It interrupts Python code (Jinja's loops), not one long C call:
the operator limits of service/content/markup/limits.py keep every single operation small.

A timer thread per render did the same but cost about 300 us to start, more than rendering a
block; a render now costs the watchdog two lock round trips and a heap push.
"""

from __future__ import annotations

import ctypes
import heapq
import itertools
import os
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

from service.content.markup.limits import RENDER_SECONDS, LimitExceeded

_set_async_exc = ctypes.pythonapi.PyThreadState_SetAsyncExc


class RenderTimeout(LimitExceeded):
    def __init__(self, message: str = f"took longer than {RENDER_SECONDS:g} s to render "
                                      "(a loop over long values?)"):
        super().__init__(message)


@dataclass(order=True)
class _Deadline:
    at: float
    order: int  # ties keep their order; the rest is not compared
    thread_id: int = field(compare=False)
    done: bool = field(default=False, compare=False)
    fired: bool = field(default=False, compare=False)


class _Watchdog:
    def __init__(self) -> None:
        self._reset()
        os.register_at_fork(after_in_child=self._reset)  # a forked child has no watchdog thread

    def _reset(self) -> None:
        self._wake = threading.Condition()
        self._heap: list[_Deadline] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def start(self, seconds: float) -> _Deadline:
        deadline = _Deadline(time.monotonic() + seconds, next(self._order), threading.get_ident())
        with self._wake:
            if self._thread is None:
                self._thread = threading.Thread(target=self._watch, name="render-time-limit", daemon=True)
                self._thread.start()
            heapq.heappush(self._heap, deadline)
            if self._heap[0] is deadline:  # earlier than what the watchdog sleeps for
                self._wake.notify()
        return deadline

    def finish(self, deadline: _Deadline) -> None:
        with self._wake:
            deadline.done = True
            if deadline.fired:  # NULL: take the exception back if it was not delivered yet
                _set_async_exc(ctypes.c_ulong(deadline.thread_id), None)

    def _watch(self) -> None:
        with self._wake:
            while True:
                heap = self._heap
                while heap and heap[0].done:
                    heapq.heappop(heap)
                if not heap:
                    self._wake.wait()
                    continue
                wait = heap[0].at - time.monotonic()
                if wait > 0:
                    self._wake.wait(wait)
                    continue
                overran = heapq.heappop(heap)
                overran.fired = True
                _set_async_exc(ctypes.c_ulong(overran.thread_id), ctypes.py_object(RenderTimeout))


_WATCHDOG = _Watchdog()


@contextmanager
def time_limit(seconds: float = RENDER_SECONDS) -> Iterator[None]:
    """Raise RenderTimeout in the calling thread once ``seconds`` have passed inside the block."""
    deadline = _WATCHDOG.start(seconds)
    try:
        yield
    finally:
        _WATCHDOG.finish(deadline)
