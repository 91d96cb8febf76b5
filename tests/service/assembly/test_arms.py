"""Which arm a customer gets: the declared split over many customers, the same on every run, keyed
by the experiment key; the arm is part of the variant key, so a variant compiles once per arm
combination, never per recipient. The demo's experiment: arm b of advice/heating-costs."""

from __future__ import annotations

import hashlib
import hmac
import shutil
from collections import Counter
from datetime import date
from email import message_from_bytes, policy
from html import unescape

import pytest

from preferences.links import LinkSigner
from repo_paths import CONTENT
from service.assembly.edition import Edition
from service.assembly.recipient import Recipient
from service.assembly.render import Renderer
from service.content.check import load_content

DAY = date(2026, 11, 23)
EXPERIMENT = "advice/heating-costs"
KEY = b"a-test-experiment-key-of-some-length"
CUSTOMERS = 20_000


def public_id(n: int) -> str:
    return f"pub{n:018d}A"


@pytest.fixture(scope="module")
def split_30(tmp_path_factory):
    """The demo content with arm b declared at 30%."""
    root = tmp_path_factory.mktemp("arms") / "content"
    shutil.copytree(CONTENT, root)
    for locale in ("de", "en"):
        path = root / "blocks" / "advice" / f"heating-costs-b.{locale}.mjml"
        path.write_text(path.read_text(encoding="utf-8").replace("arm: b\n", "arm: b\nsplit: 30\n", 1),
                        encoding="utf-8")
    return load_content(root)


def arms_of_everyone(content, key: bytes = KEY) -> list[str]:
    """Each of CUSTOMERS customers' arm, from a fresh edition (as a new run or a resumed one has)."""
    edition = Edition(content, content.templates["weekly"], DAY, experiment_key=key)
    everyone = content.audience.segment("everyone")
    found = []
    for n in range(CUSTOMERS):
        assembly = edition.assemble(everyone, "de" if n % 4 else "en", customer=public_id(n))
        found.append(dict(assembly.key.arms)[EXPERIMENT])
    return found


def test_the_declared_split_holds_over_many_customers_and_is_the_same_on_a_rerun(split_30):
    first = arms_of_everyone(split_30)
    share_b = Counter(first)["b"] / CUSTOMERS
    assert abs(share_b - 0.30) <= 0.02, share_b
    assert arms_of_everyone(split_30) == first  # a re-run, a crash resume: the same arms


def test_the_default_split_is_even():
    content = load_content(CONTENT)
    share_b = Counter(arms_of_everyone(content))["b"] / CUSTOMERS
    assert abs(share_b - 0.50) <= 0.02, share_b


def test_the_arm_is_the_documented_keyed_hash_and_another_key_assigns_differently(split_30):
    arms = arms_of_everyone(split_30)
    for n in range(0, CUSTOMERS, 997):  # computed here as content/README.md describes it
        digest = hmac.new(KEY, f"{EXPERIMENT}\x1f{public_id(n)}".encode(), hashlib.sha256).digest()
        bucket = int.from_bytes(digest[:8], "big") % 10_000
        assert arms[n] == ("b" if bucket < 3000 else "a")
    other = arms_of_everyone(split_30, key=b"another-experiment-key-entirely")
    differ = sum(a != b for a, b in zip(arms, other)) / CUSTOMERS
    assert 0.35 < differ < 0.49  # independent assignments disagree 2 * 0.3 * 0.7 = 42% of the time


def test_a_preview_without_a_customer_shows_the_original_and_names_any_arm():
    content = load_content(CONTENT)
    edition = Edition(content, content.templates["weekly"], DAY)  # no key: nobody is assigned here
    everyone = content.audience.segment("everyone")
    base = edition.assemble(everyone, "de")
    assert base.key.arms == () and "advice/heating-costs.de" in [b.id for b in base.blocks]
    shown_b = edition.assemble(everyone, "de", arms={EXPERIMENT: "b"})
    assert shown_b.key.arms == ((EXPERIMENT, "b"),)
    assert [b.id for b in shown_b.blocks] == [b.id.replace("heating-costs.de", "heating-costs-b.de")
                                              for b in base.blocks]
    with pytest.raises(ValueError, match="has no arm 'z'"):
        edition.assemble(everyone, "de", arms={EXPERIMENT: "z"})
    with pytest.raises(ValueError, match="needs the experiment key"):
        edition.assemble(everyone, "de", customer=public_id(1))


def test_an_arm_never_competes_for_a_slot_of_its_own():
    content = load_content(CONTENT)
    edition = Edition(content, content.templates["weekly"], DAY, experiment_key=KEY)
    for segment in content.audience.segments:
        for locale in content.audience.locales:
            for n in range(40):
                blocks = edition.assemble(segment, locale, customer=public_id(n)).blocks
                stories = [b.arm_of or b.story for b in blocks]
                assert len(stories) == len(set(stories))  # never the original and its arm together


class CountingRenderer(Renderer):
    """The real renderer, counting its compiles (MJML runs once per compile)."""

    compiles = 0

    def _compile(self, edition, assembly, mode):
        self.compiles += 1
        return super()._compile(edition, assembly, mode)


def test_a_variant_compiles_once_per_arm_combination_never_per_recipient():
    content = load_content(CONTENT)
    edition = Edition(content, content.templates["weekly"], DAY, experiment_key=KEY)
    renderer = CountingRenderer(LinkSigner([b"link-key-for-the-arms-test"]), "https://news.example", "u@news.example")
    combinations, messages = set(), []
    for n in range(400):
        recipient = Recipient(public_id=public_id(n), email=f"c{n}@example.com", first_name=f"C{n}",
                              locale="de" if n % 2 else "en",
                              attributes={"lifecycle": "customer", "last_order": "2026-10-01"})
        assembly = edition.assembly_for(recipient)
        variant = renderer.for_recipient(edition, assembly, recipient)
        messages.append(renderer.message(edition, variant, recipient, "Mon, 23 Nov 2026 07:00:00 +0100"))
        combinations.add((assembly.key.locale, assembly.key.arms))
    assert {arms for _, arms in combinations} == {((EXPERIMENT, "a"),), ((EXPERIMENT, "b"),)}
    assert renderer.compiles == len(combinations) == 4  # two locales x two arms, for 400 recipients
    # The HTML parts are ASCII (they go 7bit): their text with the references read.
    html = [unescape(message_from_bytes(m, policy=policy.default).get_body(("html",)).get_content()) for m in messages]
    assert sum("Save up to €300 a year on heating" in h for h in html) > 50  # arm b, en
    assert sum("Bis zu 300 € im Jahr" in h for h in html) > 50  # arm b, de


def test_the_experiment_key_is_its_own_setting_or_derived_from_the_link_key():
    from service.settings import Settings, SettingsError

    own = Settings.from_env({"NEWSLETTER_EXPERIMENT_KEY": "an-experiment-key-16+"})
    assert own.experiment_key == b"an-experiment-key-16+"
    assert own.experiment_key == Settings.from_env({"NEWSLETTER_EXPERIMENT_KEY": "an-experiment-key-16+",
                                                    "NEWSLETTER_LINK_KEYS": "another-link-key-0123"}).experiment_key
    derived = Settings.from_env({"NEWSLETTER_LINK_KEYS": "a-link-key-of-enough-length"})
    assert derived.experiment_key not in derived.link_keys and len(derived.experiment_key) == 32
    assert derived.experiment_key != Settings.from_env({"NEWSLETTER_LINK_KEYS": "other-link-key-long-enough"}).experiment_key
    with pytest.raises(SettingsError, match="NEWSLETTER_EXPERIMENT_KEY must be at least 16 characters"):
        Settings.from_env({"NEWSLETTER_EXPERIMENT_KEY": "short"})
    assert "an-experiment-key" not in repr(own)


def test_a_draft_arm_gives_its_customers_the_original_but_shows_in_a_drafts_preview(tmp_path):
    root = tmp_path / "content"
    shutil.copytree(CONTENT, root)
    for locale in ("de", "en"):
        path = root / "blocks" / "advice" / f"heating-costs-b.{locale}.mjml"
        path.write_text(path.read_text(encoding="utf-8").replace("status: ready", "status: draft"), encoding="utf-8")
    content = load_content(root)
    everyone = content.audience.segment("everyone")
    edition = Edition(content, content.templates["weekly"], DAY, experiment_key=KEY)
    assigned = {dict(edition.assemble(everyone, "de", customer=public_id(n)).key.arms)[EXPERIMENT] for n in range(200)}
    assert assigned == {"a"}
    drafts = Edition(content, content.templates["weekly"], DAY, drafts=True, experiment_key=KEY)
    assert "advice/heating-costs-b.de" in [b.id for b in drafts.assemble(everyone, "de", arms={EXPERIMENT: "b"}).blocks]
