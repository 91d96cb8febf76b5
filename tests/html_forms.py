"""Forms read from a page as a browser would submit them: ``form_fields`` (the fields of the form
posting to an action), ``edit`` (some of them changed) and ``as_form`` (httpx ``data``)."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self._select: str | None = None
        self._options: list[tuple[str, bool]] = []
        self._textarea: str | None = None
        self._text: list[str] = []
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = {k: v if v is not None else "" for k, v in attrs}
        for name in ("href", "action", "src", "formaction"):
            if name in a:
                self.urls.append(a[name])
        if tag == "form":
            self.forms.append({"action": a.get("action"), "method": a.get("method", "get"), "fields": []})
        elif tag == "input" and self.forms and "name" in a:
            kind = a.get("type", "text")
            if kind in ("radio", "checkbox") and "checked" not in a:
                return
            if kind not in ("submit", "button", "image", "reset"):
                self.forms[-1]["fields"].append((a["name"], a.get("value", "on" if kind == "checkbox" else "")))
        elif tag == "textarea" and self.forms and "name" in a:
            self._textarea, self._text = a["name"], []
        elif tag == "select":
            self._select, self._options = a.get("name"), []
        elif tag == "option" and self._select is not None:
            self._options.append((a.get("value", ""), "selected" in a))

    def handle_data(self, data):
        if self._textarea is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "textarea" and self._textarea is not None:
            text = "".join(self._text)  # a browser drops the one newline right after <textarea>
            self.forms[-1]["fields"].append((self._textarea, text[1:] if text.startswith("\n") else text))
            self._textarea = None
        if tag == "select" and self._select is not None:
            chosen = [v for v, s in self._options if s] or [v for v, _ in self._options[:1]]
            self.forms[-1]["fields"].extend((self._select, v) for v in chosen)
            self._select = None


def parse(html: str) -> _Forms:
    parser = _Forms()
    parser.feed(html)
    return parser


def form_fields(html: str, action: str | None = None) -> list[tuple[str, str]]:
    """The fields a browser would submit with the form posting to ``action`` (default: the first)."""
    forms = parse(html).forms
    for form in forms:
        if action is None or form["action"] == action:
            return list(form["fields"])
    raise AssertionError(f"no form with action {action!r} in {[f['action'] for f in forms]}")


def edit(fields: list[tuple[str, str]], **changes: Any) -> list[tuple[str, str]]:
    """``fields`` with the named fields replaced (a list value: several fields of that name;
    None: removed)."""
    result = [(k, v) for k, v in fields if k not in changes]
    for name, value in changes.items():
        if value is None:
            continue
        result += [(name, v) for v in (value if isinstance(value, list) else [value])]
    return result


def as_form(fields: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Fields as httpx ``data`` (repeated names as lists)."""
    data: dict[str, list[str]] = {}
    for name, value in fields:
        data.setdefault(name, []).append(value)
    return data
