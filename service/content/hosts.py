"""template.yaml's ``asset_hosts``, ``link_hosts`` and ``social_icons``, and the check that the
content keeps to them: an image or link host nobody declared is a typo or a third party (who
learns of every open), caught before the send as a `path:line` warning."""

from __future__ import annotations

from service.content.markup.urls import ASSET, addresses, allowed, default_icon_lines, host_of, is_host
from service.content.model import Block, Hosts, Template
from service.content.problems import Problems
from service.content.reading.field_reader import FieldReader

HOST_KEYS = ("asset_hosts", "link_hosts", "social_icons")
_DECLARED_AS = {ASSET: "asset_hosts", "link": "link_hosts"}
_WHAT = {ASSET: "image host", "link": "link host"}
_WHY = {ASSET: "a typo, or a third party that learns of every open?",
        "link": "a typo, or a site nobody meant to send readers to?"}
DEFAULT_ICONS = ("icon without a src of its own: MJML would load it from www.mailjet.com, a third "
                 "party; set social_icons: https://<your asset host>/<folder>/ in {path}")


def read_hosts(reader: FieldReader) -> Hosts:
    """The three keys of ``reader``'s template.yaml, each mistake at its line."""
    assets, links = _host_list(reader, "asset_hosts"), _host_list(reader, "link_hosts")
    icons = reader.text("social_icons")
    if icons is not None:
        host = host_of(icons)
        if not icons.startswith("https://") or host is None:
            reader.error("social_icons", f"social_icons {icons!r} must be an https: address on your "
                                         f"asset host, like https://cdn.shop.example/social/")
            icons = None
        elif assets is not None and not allowed(host, assets):
            reader.error("social_icons", f"social_icons is on {host!r}, which is not in asset_hosts")
        else:
            icons = icons if icons.endswith("/") else icons + "/"  # MJML appends "<network>.png"
    return Hosts(assets, links, icons)


def _host_list(reader: FieldReader, key: str) -> tuple[str, ...] | None:
    items = reader.text_list(key)
    if items is None:
        return None
    hosts = []
    for name, line in items:
        name = name.strip().lower()
        if is_host(name):
            hosts.append(name)
        else:
            reader.problems.error(reader.path, line, f"{key}: {name!r} is not a host name (write "
                                                     f"cdn.shop.example, or *.shop.example for all its subdomains)")
    return tuple(hosts)


def users_of(block: Block, templates: dict[str, Template]) -> list[Template]:
    """The templates whose emails may carry ``block`` (a slot of its name that its team fills)."""
    return [t for t in templates.values() if (s := t.slot(block.slot)) is not None and block.team in s.teams]


def check_hosts(templates: dict[str, Template], blocks: dict[str, Block], problems: Problems) -> None:
    """Every image and link host of every layout and block against the declarations of the
    templates that send it (warnings), and every social icon against an origin (errors)."""
    for template in templates.values():
        _check_markup(template.layout, template.layout_path, 1, [template], problems)
    for block in blocks.values():
        users = users_of(block, templates)
        if users:
            _check_markup(block.body, block.path, block.body_line, users, problems)


def _check_markup(markup: str, path: str, first_line: int, users: list[Template], problems: Problems) -> None:
    shown: set[tuple[int, str]] = set()
    for address in addresses(markup):
        declared_by = [t for t in users if _declared(t.hosts, address.kind) is not None]
        strangers = [t for t in declared_by if not allowed(address.host, _declared(t.hosts, address.kind))]
        if not strangers or (address.line, address.host) in shown:
            continue
        shown.add((address.line, address.host))
        names = ", ".join(f"{t.id} ({t.path})" for t in strangers)
        problems.warn(path, first_line + address.line - 1,
                      f"{_WHAT[address.kind]} {address.host!r} is not in {_DECLARED_AS[address.kind]} of "
                      f"{names}: {_WHY[address.kind]}")
    lacking = [t for t in users if t.hosts.social_icons is None]
    for line in default_icon_lines(markup) if lacking else ():
        problems.error(path, first_line + line - 1,
                       "<mj-social-element> " + DEFAULT_ICONS.format(path=", ".join(t.path for t in lacking)))


def _declared(hosts: Hosts, kind: str) -> tuple[str, ...] | None:
    return hosts.assets if kind == ASSET else hosts.links


def added_by_mjml(source: str, compiled: str, hosts: Hosts) -> list[str]:
    """Hosts the compiled HTML loads from or links to that ``source`` never names (nor the
    social icon origin): MJML's own defaults, such as <mj-accordion>'s and <mj-carousel>'s icons
    on i.imgur.com."""
    own = {a.host for a in addresses(source)}
    if hosts.social_icons:
        own.add(host_of(hosts.social_icons))
    return sorted({a.host for a in addresses(compiled)} - own)
