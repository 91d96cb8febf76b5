"""Test messages for the delivery targets' tests."""

from __future__ import annotations

from service.delivery.base import Envelope


def message(n: int, to: str | None = None) -> Envelope:
    to = to or f"kunde{n}@example.com"
    data = (f"From: news@shop.example\r\nTo: {to}\r\nSubject: Hallo {n}\r\n"
            f"Message-ID: <weekly.2026-11-23.{n:032x}@weekly.shop.example>\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\n\r\nLine one\r\n.leading dot\r\n").encode()
    return Envelope("news@shop.example", to, f"<weekly.2026-11-23.{n:032x}@weekly.shop.example>", data)


# --to ------------------------------------------------------------------------------------------
