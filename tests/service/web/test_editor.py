"""The block editor through the whole app, on a copy of the demo content in a git work tree:
each check problem beside its field (or body line) and nothing written; a save changes that
file alone and is a commit by the editor; a block of another team is 403 on GET and POST; only
reviewers set a block ready, and on a four-eyes team never the author of the version; a
concurrent save is shown, not overwritten; a forged form is refused; the team page lists where
each block is used and who must release it."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import replace

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select
from starlette.testclient import TestClient

from preferences.database import make_engine, upgrade
from repo_paths import CONTENT
from service.settings import Settings
from service.staff import accounts
from service.staff.passwords import Passwords
from service.staff.tables import block_change, staff_event
from service.web.app import create_app
from html_forms import as_form, edit, form_fields

BASE = "http://news.example"
SECRET = "a long staff secret"
SAME_SITE = {"Origin": BASE}
BLOCK = "/edit/advice/winter-garden-care.en"
FILE = "blocks/advice/winter-garden-care.en.mjml"
PEOPLE = {"lena": ("advice", "editor"), "max": ("advice", "reviewer"), "rita": ("advice", "reviewer"),
          "pete": ("product-news", "editor"), "paul": ("product-news", "reviewer")}


def git(root, *args):
    return subprocess.run(["git", "-C", str(root), "-c", "user.name=setup", "-c", "user.email=setup@example", *args],
                          check=True, capture_output=True, text=True).stdout


@pytest.fixture
def site(tmp_path):
    root = tmp_path / "content"
    shutil.copytree(CONTENT, root)
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "the demo content")
    url = f"sqlite:///{tmp_path / 'newsletter.db'}"
    upgrade(url)
    engine = make_engine(url)
    cheap = Passwords(PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1))
    with engine.begin() as conn:
        for name, (team, role) in PEOPLE.items():
            accounts.add(conn, cheap, name, f"{name}@nordhaus.example", team, role, SECRET, by="test")
    settings = replace(Settings.from_env({}), database_url=url, content_dir=root, base_url=BASE)
    with TestClient(create_app(settings), base_url=BASE) as client:
        yield client, root, engine
    engine.dispose()


def sign_in(client, name):
    client.cookies.clear()
    done = client.post("/staff/login", data={"name": name, "password": SECRET, "next": "/edit"}, headers=SAME_SITE,
                       follow_redirects=False)
    assert done.status_code == 303


def opened(client, path=BLOCK):
    """The page of a block, and its form's fields as the browser would send them."""
    page = client.get(path + "?lang=en")
    assert page.status_code == 200, page.text
    return page, form_fields(page.text)


def value(form, name):
    return dict(form)[name]


def post(client, form, path=BLOCK, headers=SAME_SITE, **changes):
    changes.setdefault("action", "save")
    return client.post(path + "?lang=en", data=as_form(edit(form, **changes)), headers=headers,
                       follow_redirects=False)


def plus_minus(diff):
    return [line for line in diff.splitlines() if line.startswith(("+", "-")) and not line.startswith(("+++", "---"))]


def test_each_problem_is_beside_its_field_or_body_line_and_nothing_is_written(site):
    client, root, _ = site
    sign_in(client, "lena")
    before = (root / FILE).read_bytes()
    _, form = opened(client)
    body = value(form, "body").replace('alt="Potted plants wrapped in fleece on a snowy patio" ', "")
    answer = post(client, form, expire="2026-11-01", priority="lots", body=body)
    assert answer.status_code == 422
    page = answer.text
    assert 'id="f-expire" name="expire" type="date" value="2026-11-01" aria-describedby="err-expire hint-expire" ' \
           'aria-invalid="true"' in page
    assert re.search(r'id="err-expire"><li class="error">expire 2026-11-01 is not after publish 2026-11-02', page)
    assert re.search(r'id="err-priority"><li class="error">&#39;priority&#39; must be a whole number', page)
    assert re.search(r'id="err-body"><li class="error">Line 3: &lt;mj-image&gt; without alt text', page)
    assert 'aria-invalid="true" aria-describedby="err-body hint-body"' in page
    # The check judges a block's slot against its team once the file itself is sound:
    slot = post(client, form, slot="products")
    assert re.search(r'id="err-slot"><li class="error">team &#39;advice&#39; may not fill slot &#39;products&#39;',
                     slot.text)
    assert (root / FILE).read_bytes() == before and git(root, "status", "--porcelain") == ""


def test_a_save_changes_the_file_alone_and_is_a_commit_by_the_editor(site):
    client, root, engine = site
    sign_in(client, "lena")
    page, form = opened(client)
    assert value(form, "status") == "draft"  # an editor's save makes a ready block a draft
    body = value(form, "body")
    answer = post(client, form, body=body.replace("Frost, wet", "Ice, wet"), expire="2027-01-10")
    assert answer.status_code == 303 and answer.headers["location"] == f"{BLOCK}?saved=1&lang=en"
    show = git(root, "show", "--format=%an <%ae>|%s", "HEAD")
    assert show.startswith("lena <lena@nordhaus.example>|advice/winter-garden-care.en: edited in the block editor")
    old_line = next(line for line in body.splitlines() if "Frost, wet" in line)
    assert plus_minus(show) == ["+expire: 2027-01-10", "-status: ready", "+status: draft", f"-{old_line}",
                                "+" + old_line.replace("Frost, wet", "Ice, wet")]
    assert git(root, "show", "--name-only", "--format=", "HEAD").split() == [FILE]
    with engine.connect() as conn:
        rows = conn.execute(select(block_change.c.block, block_change.c.action, block_change.c.author,
                                   block_change.c.status)).all()
        audit = conn.execute(select(staff_event.c.actor, staff_event.c.action).where(
            staff_event.c.action.like("block-%"))).all()
    assert rows == [("advice/winter-garden-care.en", "edited", "lena", "draft")] and audit == [("lena", "block-edited")]
    assert "Saved." in client.get(f"{BLOCK}?saved=1&lang=en").text
    _, again = opened(client)
    assert post(client, again).headers["location"] == f"{BLOCK}?saved=0&lang=en"  # unchanged: no commit
    assert git(root, "rev-list", "--count", "HEAD").strip() == "2"


def test_another_team_gets_403_on_the_page_the_form_and_the_post(site):
    client, root, _ = site
    sign_in(client, "lena")
    _, form = opened(client)
    sign_in(client, "pete")
    before = (root / FILE).read_bytes()
    assert client.get("/edit/advice").status_code == 403
    assert client.get(BLOCK).status_code == 403
    assert post(client, form, title="Hijacked").status_code == 403
    assert (root / FILE).read_bytes() == before
    assert client.get("/edit", follow_redirects=False).headers["location"] == "/edit/product-news"


def test_only_a_reviewer_sets_ready_and_on_four_eyes_never_their_own_text(site):
    client, root, _ = site
    sign_in(client, "lena")
    _, form = opened(client)
    refused = post(client, form, status="ready", title="Winter garden care")
    assert refused.status_code == 422 and 'id="err-status"><li class="error">Only a reviewer' in refused.text
    assert post(client, form, title="Winter garden care").status_code == 303  # a draft, by lena

    sign_in(client, "max")
    _, form = opened(client)
    own_text = post(client, form, title="Winter garden care!", status="ready")
    assert own_text.status_code == 422 and "save your changes as a draft; another reviewer" in own_text.text
    assert post(client, form, status="ready").status_code == 303
    assert "status: ready" in (root / FILE).read_text()
    assert git(root, "log", "-1", "--format=%an %s").startswith("max advice/winter-garden-care.en: approved")
    team = client.get("/edit/advice?lang=en").text
    assert "Four eyes: a block is set ready by a second person" in team and "approved by max" in team

    _, form = opened(client)  # the reviewer edits, and then may not release their own version
    assert post(client, form, title="Winter garden care, again", status="draft").status_code == 303
    _, form = opened(client)
    own = post(client, form, status="ready")
    assert own.status_code == 422 and "you wrote this version" in own.text
    assert "waits for a second person (written by max)" in client.get("/edit/advice?lang=en").text
    sign_in(client, "rita")
    _, form = opened(client)
    assert post(client, form, status="ready").status_code == 303


def test_without_four_eyes_a_reviewer_releases_their_own_change(site):
    client, root, _ = site
    sign_in(client, "paul")
    path = "/edit/product-news/winter-jackets.en"
    _, form = opened(client, path)
    assert post(client, form, path=path, title="Winter jackets!", status="ready").status_code == 303
    assert plus_minus(git(root, "show", "--format=", "HEAD")) == ["-title: Winter jackets", "+title: Winter jackets!"]


def test_a_concurrent_save_is_shown_beside_the_editors_text_never_overwritten(site):
    client, root, _ = site
    sign_in(client, "lena")
    _, form = opened(client)
    assert post(client, form, title="First").status_code == 303  # someone else, from the same version
    theirs = (root / FILE).read_text()
    answer = post(client, form, title="Second")
    assert answer.status_code == 409 and (root / FILE).read_text() == theirs
    assert 'id="conflict"' in answer.text and "title: First" in answer.text and 'value="Second"' in answer.text
    fresh = form_fields(answer.text)
    assert value(fresh, "etag") != value(form, "etag") and value(fresh, "title") == "Second"
    assert post(client, fresh).status_code == 303  # now a deliberate overwrite
    assert "title: Second" in (root / FILE).read_text()


def test_a_forged_form_is_refused(site):
    client, root, _ = site
    sign_in(client, "lena")
    before = (root / FILE).read_bytes()
    _, form = opened(client)
    assert post(client, form, form_token="0" * 64, title="x").status_code == 403
    assert post(client, form, headers={"Origin": "https://evil.example"}, title="x").status_code == 403
    assert post(client, form, headers={"Sec-Fetch-Site": "cross-site"}, title="x").status_code == 403
    assert (root / FILE).read_bytes() == before


def test_a_new_block_and_the_preview_as_a_segment(site):
    client, root, _ = site
    sign_in(client, "lena")
    new = "/edit/advice/+new"
    _, form = opened(client, new)
    body = "<mj-section><mj-column><mj-text>Snow shovels, explained.</mj-text></mj-column></mj-section>\n"
    form = edit(form, title="Snow", locale="en", body=body, priority="1000")
    bad = post(client, form, path=new, name="Snow!")
    assert bad.status_code == 422 and 'id="err-name"' in bad.text
    preview = post(client, form, path=new, name="snow", action="preview", preview_segment="everyone")
    assert preview.status_code == 200 and "srcdoc=" in preview.text and "Snow shovels, explained." in preview.text
    assert "The block is in this email." in preview.text
    assert not (root / "blocks/advice/snow.en.mjml").exists()
    assert post(client, form, path=new, name="snow").headers["location"].startswith("/edit/advice/snow.en?saved=1")
    assert (root / "blocks/advice/snow.en.mjml").read_text() == (
        "---\ntitle: Snow\nslot: advice\npriority: 1000\nlocale: en\nstatus: draft\n---\n" + body)


def test_the_team_page_lists_slot_locale_status_window_and_where_each_block_is_used(site):
    client, root, _ = site
    sign_in(client, "lena")
    page = client.get("/edit/advice?lang=en").text
    row = page[page.index('id="block-winter-garden-care.en"'):]
    row = row[:row.index("</tr>")]
    assert "Garden care in winter" in row and "<td>advice</td>" in row and "<td>en</td>" in row
    assert "2026-11-02 – …" in row and "badge ready" in row
    assert page.count('<tr id="block-') == len(list((root / "blocks/advice").glob("*.mjml")))
    assert re.search(r"<strong>(weekly|monthly) \d{4}-\d\d-\d\d</strong>: [\w-]+ \((de|en)", page)


def test_a_new_block_name_or_team_that_is_a_path_writes_nowhere(site, tmp_path):
    client, root, _ = site
    sign_in(client, "lena")
    new = "/edit/advice/+new"
    _, form = opened(client, new)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if ".git" not in p.parts)
    answer = post(client, form, path=new, name="../../../escaped", locale="../x", title="x", body="<mj-section/>\n")
    assert answer.status_code == 422 and 'id="err-name"' in answer.text
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if ".git" not in p.parts) == before
    assert client.get("/edit/..%2F..").status_code == 404


ARM = "/edit/advice/heating-costs-b.de"
ARM_FILE = "blocks/advice/heating-costs-b.de.mjml"


def test_an_arm_shows_what_it_inherits_and_a_save_writes_none_of_it(site):
    client, root, _ = site
    sign_in(client, "max")
    page, form = opened(client, ARM)
    text = page.text
    assert "Arm b of advice/heating-costs" in text
    # No field for what the original decides: the page shows the original's values instead.
    assert not {"slot", "product_groups", "segments", "priority", "publish", "expire"} & set(dict(form))
    shown = re.search(r'<section class="inherited".*?</section>', text, re.S).group(0)
    assert re.search(r"<dt>Slot</dt><dd>advice</dd>", shown) and "<dd>30</dd>" in shown and "2026-11-02" in shown
    body = value(form, "body")
    answer = post(client, form, ARM, status="draft", body=body.replace("Drei Handgriffe", "Drei kleine Handgriffe"))
    assert answer.status_code == 303, answer.text
    changed = plus_minus(git(root, "show", "--format=", "HEAD"))
    # The status (four eyes: a draft until another reviewer) and the body line, nothing inherited.
    assert changed[:2] == ["-status: ready", "+status: draft"] and len(changed) == 4
    assert "Drei kleine Handgriffe" in changed[3]
    assert "arm_of: advice/heating-costs" in (root / ARM_FILE).read_text(encoding="utf-8")
    german = client.get(ARM + "?lang=de").text
    assert "Variante b von advice/heating-costs" in german and "vom Originalblock" in german
