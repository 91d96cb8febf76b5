"""Content for a long-running process: reloaded when an editor changes a file, not per request.

A cheap fingerprint (names, sizes and modification times) is taken at most once per
`interval` seconds; only when it changes are the files loaded and checked again."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Callable

from service.content.check import CheckResult, check_content


def fingerprint(root: Path) -> tuple:
    """Changes whenever a file under `root` is added, removed, resized or touched."""
    entries = []
    for path in sorted(root.rglob("*")):
        try:
            stat = path.stat()
        except OSError:
            continue
        if path.is_file():
            entries.append((path.as_posix(), stat.st_size, stat.st_mtime_ns))
    return tuple(entries)


class LiveContent:
    """The latest check of a content folder: `.current()` gives a CheckResult (content or errors)."""

    def __init__(self, root: Path, interval: float = 1.0, clock: Callable[[], float] = time.monotonic):
        self.root, self.interval, self.clock = Path(root), interval, clock
        self._lock = threading.Lock()
        self._checked_at = float("-inf")
        self._fingerprint: tuple | None = None
        self._result: CheckResult | None = None

    def current(self) -> CheckResult:
        with self._lock:
            now = self.clock()
            if self._result is None or now - self._checked_at >= self.interval:
                self._checked_at = now
                seen = fingerprint(self.root)
                if seen != self._fingerprint or self._result is None:
                    self._result = check_content(self.root)
                    self._fingerprint = seen
            return self._result
