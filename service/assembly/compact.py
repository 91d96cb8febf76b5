"""Fewer bytes for the same rendering: a pass over MJML's HTML, once per variant.

What it changes, each only where it cannot change what a reader sees:

- adjacent Outlook conditionals with the same condition become one
  (``<![endif]--><!--[if mso | IE]>`` between them goes; Outlook reads the same markup, every other
  program still skips it all); what a conditional holds is never rewritten;
- ordinary comments go; conditional ones (``<!--[if ...]>``, ``<!--<![endif]-->``) stay;
- whitespace between tags in the head and between table rows and cells (where HTML and CSS
  ignore it) goes; whitespace anywhere else stays, since between inline elements it shows;
- an inline ``style``: whitespace around ``:``, ``;`` and after ``,`` goes, a declaration repeated
  with the same value keeps its last copy (with another value both stay: the first is a fallback
  for a program that rejects the second), ``0px`` becomes ``0`` (not in ``line-height``, where
  ``0`` is a number, nor in any ``mso-`` property, which stays as written), the last ``;`` goes;
  a style with quotes, parentheses, entities, comments or a placeholder is left as it is;
- a ``<style>`` block: whitespace around ``{ } ; ,`` and after ``:`` goes, ``;}`` becomes ``}``
  (not in a block with strings, escapes, comments or ``url(``); a block that repeats the one just
  before it goes (only then: a repeat after another block, a ``<link>`` or Outlook's own styles
  re-applies its rules over theirs);
- ``<tbody>`` right after ``<table ...>`` and ``</tbody>`` right before ``</table>``: the HTML
  parser puts the same tbody there (the Outlook conditionals have none already).

Never touched: placeholders (``@@nl:...@@`` and ``{{ ... }}``), text, attribute values other than
``style``, attribute quoting, ``<pre>``, ``<textarea>`` and ``<script>`` with all they hold.
``compact(compact(h)) == compact(h)``; ``kinds`` tells where a mail's bytes go. Chromium draws
the demo's mails to the same pixel before and after (tests/e2e/test_compact_pixels_browser.py)."""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache

from service.content.markup.fields import PLACEHOLDER

_ATTRIBUTE = r"""\s+[^\s"'=<>/`]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?"""
_TOKENS = re.compile(
    r"(?P<cond><!--\[if\s[^\]]*\]>(?!<!-->).*?<!\[endif\]-->)"  # downlevel-hidden: Outlook's markup
    r"|(?P<comment><!--.*?-->)"
    r"|(?P<raw><(?P<rawname>pre|textarea|script)(?![\w-])(?:" + _ATTRIBUTE + r")*\s*>.*?</(?P=rawname)\s*>)"
    r"|(?P<style><style(?:" + _ATTRIBUTE + r")*\s*>.*?</style\s*>)"
    r"|(?P<tag></?[a-zA-Z][^\s/>]*(?:" + _ATTRIBUTE + r")*\s*/?>)"
    r"|(?P<text>[^<]+|<)",
    re.S | re.I)
_ATTRIBUTE_PARTS = re.compile(r"""\s+([^\s"'=<>/`]+)(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?""")
_KIND_NAMES = {"cond": "Outlook conditionals", "comment": "comments", "raw": "pre, textarea, script",
               "style": "style blocks"}
_COND_OPEN = re.compile(r"<!--\[if\s[^\]]*\]>")
_ENDIF = "<![endif]-->"
_TAG_NAME = re.compile(r"</?[a-zA-Z][^\s/>]*")
_STYLE_ATTR = re.compile(r"""(\sstyle\s*=\s*")([^"]*)(")""", re.I)
_UNSAFE_STYLE = re.compile(r"""["'()&\\]|/\*|@@|\{\{""")
_ZERO_PX = re.compile(r"(?<![^\s,])(-?)0px(?![\w%])", re.I)
_UNSAFE_CSS = re.compile(r"""["'\\]|/\*|@@|\{\{|url\(""", re.I)
_CSS_SPACE = re.compile(r"\s*([{};,])\s*|(:)\s+")
_SPACES = re.compile(r"\s+")
_CURLY = re.compile(r"\{\{.*?\}\}", re.S)
# Whitespace between two of these (a row's and a table's own children) is never rendered.
_TABLE_BEFORE = {"table", "thead", "tbody", "tfoot", "tr", "/tr", "/td", "/th", "/thead", "/tbody", "/tfoot",
                 "/caption", "/colgroup", "col"}
_TABLE_AFTER = {"thead", "tbody", "tfoot", "tr", "td", "th", "/tr", "/thead", "/tbody", "/tfoot", "/table",
                "caption", "colgroup", "col"}


class CompactError(RuntimeError):
    """The pass would have changed what it must keep (a bug here, never the content's fault)."""


def compact(html: str) -> str:
    """``html`` with fewer bytes and the same rendering (see the module's docstring)."""
    tokens = _tokens(html)
    out: list[tuple[str, str]] = []
    in_head, last_style = True, None
    for i, (kind, text) in enumerate(tokens):
        if kind == "tag":
            name = _name(text)
            if name == "body":
                in_head = False
            elif name == "link":
                last_style = None  # a style sheet between two blocks
            if text.lower() == "<tbody>" and out and out[-1][0] == "tag" and _name(out[-1][1]) == "table":
                continue
            while name == "/table" and out and out[-1][0] == "tag" and _name(out[-1][1]) == "/tbody":
                out.pop()  # every one: compacting twice must change nothing more
            out.append((kind, _STYLE_ATTR.sub(lambda m: m.group(1) + _style(m.group(2)) + m.group(3), text)))
        elif kind == "cond":
            if out and out[-1][0] == "cond" and _opener(out[-1][1]) == _opener(text):
                previous = out.pop()[1]
                text = previous[:-len(_ENDIF)] + text[len(_opener(text)):]
            if "<style" in text.lower():
                last_style = None  # Outlook's own styles come between
            out.append((kind, text))
        elif kind == "comment":
            if "[if" in text or "[endif]" in text:
                out.append((kind, text))
        elif kind == "style":
            text = _css(text)
            if text != last_style:
                out.append((kind, text))
            last_style = text
        elif kind == "text" and not text.strip() and _invisible(text, out, tokens, i, in_head):
            continue
        else:
            out.append((kind, text))
    result = "".join(text for _, text in out)
    _check(html, tokens, result)
    return result


def _tokens(html: str) -> list[tuple[str, str]]:
    return [(m.lastgroup, m.group()) for m in _TOKENS.finditer(html)]


def kinds(html: str) -> Counter:
    """Bytes (UTF-8) of ``html`` by kind, to see where they go: Outlook conditionals, inline styles,
    links, other attributes, tag names, text, whitespace between tags, style blocks, comments, raw."""
    found: Counter = Counter()
    for kind, text in _tokens(html):
        size = len(text.encode("utf-8"))
        if kind == "tag":
            for m in _ATTRIBUTE_PARTS.finditer(text):
                name = m.group(1).lower()
                key = "style attributes" if name == "style" else "links (href, src)" if name in ("href", "src") \
                    else "other attributes"
                found[key] += len(m.group().encode("utf-8"))
                size -= len(m.group().encode("utf-8"))
            found["tag names"] += size
        elif kind == "text":
            found["whitespace between tags" if not text.strip() else "text"] += size
        else:
            found[_KIND_NAMES[kind]] += size
    return found


def _name(tag: str) -> str:
    return _TAG_NAME.match(tag).group()[1:].lower()


def _opener(cond: str) -> str:
    return _COND_OPEN.match(cond).group()


def _invisible(space: str, out: list, tokens: list, i: int, in_head: bool) -> bool:
    """Whether whitespace between tags renders as nothing: in the head, or among table rows."""
    before = out[-1] if out else None
    after = tokens[i + 1] if i + 1 < len(tokens) else None
    if in_head:
        if before is not None and before[0] == "tag" and _name(before[1]) == "title":
            return False
        return before is None or after is None or (before[0] != "text" and after[0] != "text")
    if before is None or after is None or before[0] != "tag" or after[0] != "tag":
        return False
    return _name(before[1]) in _TABLE_BEFORE and _name(after[1]) in _TABLE_AFTER


@lru_cache(maxsize=4096)  # a mail repeats its styles: MJML writes one per kind of element
def _style(value: str) -> str:
    """An inline style's declarations, shorter; as it is if it holds anything not plain."""
    if _UNSAFE_STYLE.search(value) or ":" not in value:
        return value
    declarations: dict[str, str] = {}
    for declaration in value.split(";"):
        if not declaration.strip():
            continue
        prop, colon, val = declaration.partition(":")
        prop = prop.strip()
        if not colon or not prop:
            return value  # not a declaration: not ours to judge
        if prop.lower().startswith("mso-"):
            text = f"{prop}:{val.strip()}"
        else:
            val = _SPACES.sub(" ", val.strip()).replace(", ", ",")
            if prop.lower() != "line-height":
                val = _ZERO_PX.sub(r"\g<1>0", val)
            text = f"{prop}:{val}"
        key = prop.lower()
        if declarations.get(key, text) != text:
            return _plain(value)  # the same property twice with different values: a fallback, kept
        declarations.pop(key, None)
        declarations[key] = text  # a repeat with the same value: the last copy stays
    return ";".join(declarations.values())


def _plain(value: str) -> str:
    """A style whose declarations are all kept: only the spaces around them go, and the last ``;``."""
    return ";".join(d.strip() for d in value.split(";") if d.strip())


def _css(block: str) -> str:
    """A ``<style>`` block with the whitespace that CSS ignores around ``{ } ;`` gone."""
    start = block.index(">") + 1
    end = block.lower().rindex("</style")
    css = block[start:end]
    if _UNSAFE_CSS.search(css):
        return block
    css = _CSS_SPACE.sub(r"\1\2", _SPACES.sub(" ", css).strip()).replace(";}", "}")
    return block[:start] + css + block[end:]


def _check(before: str, tokens: list[tuple[str, str]], after: str) -> None:
    """The placeholders, the Outlook markup and the raw blocks as they were, in order."""
    for name, pattern in (("placeholder", PLACEHOLDER), ("{{ }} placeholder", _CURLY)):
        was, now = pattern.findall(before), pattern.findall(after)
        if was != now:
            raise CompactError(f"compact changed the {name}s: {_first_difference(was, now)}")
    (was, was_raw), (now, now_raw) = _kept(tokens), _kept(_tokens(after))
    if was != now:
        at = next((i for i, (a, b) in enumerate(zip(was, now)) if a != b), min(len(was), len(now)))
        raise CompactError(f"compact changed the Outlook markup near {was[max(0, at - 60):at + 60]!r}")
    if was_raw != now_raw:
        raise CompactError(f"compact changed a <pre>, <textarea> or <script>: {_first_difference(was_raw, now_raw)}")


def _kept(tokens: list[tuple[str, str]]) -> tuple[str, list[str]]:
    """What Outlook reads beyond other programs (each conditional's content, those in a row of one
    condition joined), and the raw blocks."""
    outlook: list[list[str]] = []
    raw = []
    for kind, text in tokens:
        if kind == "cond":
            opener = _opener(text)
            content = text[len(opener):-len(_ENDIF)]
            if outlook and outlook[-1][0] == opener:
                outlook[-1][1] += content
            else:
                outlook.append([opener, content])
        elif kind == "raw":
            raw.append(text)
    return "".join(opener + content + _ENDIF for opener, content in outlook), raw


def _first_difference(was: list[str], now: list[str]) -> str:
    for i, (a, b) in enumerate(zip(was, now)):
        if a != b:
            return f"#{i + 1} was {a!r}, is {b!r}"
    longer, which = (was, "gone") if len(was) > len(now) else (now, "new")
    return f"{len(was)} before, {len(now)} after; {which}: {longer[min(len(was), len(now))]!r}"
