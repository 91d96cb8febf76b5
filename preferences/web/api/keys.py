"""The operator's API keys by name: what a consent event names instead of the secret."""

from __future__ import annotations

from typing import Iterable


def named_keys(keys: Iterable[tuple[str, str] | str]) -> list[tuple[str, str]]:
    """``(name, secret)`` pairs; a bare secret is named by its place: ``key-1``, ``key-2``, ..."""
    return [key if isinstance(key, tuple) else (f"key-{n}", key) for n, key in enumerate(keys, start=1)]
