from __future__ import annotations

import os

from content_tree import write_tree
from service.content.live import LiveContent


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def touch_title(path, title):
    text = path.read_text().replace("title: Jackets", f"title: {title}").replace("title: Parkas", f"title: {title}")
    path.write_text(text)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # coarse file systems


def test_reloads_after_an_edit_but_not_more_often_than_the_interval(tmp_path):
    root = write_tree(tmp_path)
    clock = Clock()
    live = LiveContent(root, interval=5, clock=clock)
    first = live.current()
    assert first.content.blocks["news/jackets"].title == "Jackets"
    touch_title(root / "blocks/news/jackets.mjml", "Parkas")
    assert live.current() is first  # within the interval: no look at the files
    clock.now += 5
    assert live.current().content.blocks["news/jackets"].title == "Parkas"


def test_unchanged_files_are_not_loaded_again(tmp_path):
    live = LiveContent(write_tree(tmp_path), interval=0)
    assert live.current() is live.current()


def test_errors_are_a_result_not_an_exception(tmp_path):
    root = write_tree(tmp_path)
    live = LiveContent(root, interval=0)
    (root / "blocks/news/jackets.mjml").write_text("---\ntitle: x\n")
    result = live.current()
    assert result.content is None and result.errors
