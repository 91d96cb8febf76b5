"""A real send of the demo edition (a Maildir, every message parsed back): no image, link or
header in any message points to a host outside the template's declared ``asset_hosts`` and
``link_hosts``, but for the service's own (the personal links, the tracked redirect), and every
tracked link leads, once opened, to a declared host too."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from preferences.database import make_engine, upgrade
from preferences.links import LinkSigner
from repo_paths import CONTENT
from service.assembly.tracking import open_target
from service.content.check import load_content
from service.content.markup.urls import LINK, addresses, allowed
from send_fixtures import add_customers, send_demo_edition, settings_for

_TEXT_URL = re.compile(r"https?://[^\s<>\]\)\"']+")
_HEADER_URL = re.compile(r"<(https?://[^>]+)>")


def test_no_message_of_the_demo_send_leaves_the_declared_hosts(tmp_path):
    url = f"sqlite:///{tmp_path / 'newsletter.db'}"
    upgrade(url)
    engine = make_engine(url)
    add_customers(engine, 60, excluded=lambda n: [["outdoor"], ["kitchen", "garden"], []][n % 3])
    messages, _ = send_demo_edition(engine, url, tmp_path / "outbox")
    engine.dispose()
    settings = settings_for(url)
    own = urlsplit(settings.base_url).hostname
    hosts = load_content(CONTENT).templates["weekly"].hosts
    signer = LinkSigner(settings.link_keys)
    assert len(messages) == 60 and hosts.assets and hosts.links
    strangers, followed = set(), 0
    for message in messages:
        html = message.get_body(("html",)).get_content()
        found = [(a.kind, a.url, a.host) for a in addresses(html)]
        found += [(LINK, u, urlsplit(u).hostname) for u in _TEXT_URL.findall(message.get_body(("plain",)).get_content())]
        found += [(LINK, u, urlsplit(u).hostname) for u in _HEADER_URL.findall(str(message["List-Unsubscribe"]))]
        for kind, address, host in found:
            if host == own:
                if urlsplit(address).path.startswith("/r/"):  # tracked: where it leads counts
                    target = open_target(signer, urlsplit(address).path.split("/")[2]).url
                    host, kind, followed = urlsplit(target).hostname, LINK, followed + 1
                else:
                    continue
            declared = hosts.assets if kind != LINK else hosts.links
            if not allowed(host, declared):
                strangers.add((kind, host, address))
    assert strangers == set()
    assert followed > 60 * 5  # every mail has tracked links, each opened and judged
