"""The block editor's words, English as the source; German from the shared catalogue
(preferences/locale/de/LC_MESSAGES/messages.po). The check's own messages stay as
``newsletter check`` prints them."""

from __future__ import annotations

from functools import lru_cache

from preferences import translations


def _(message: str) -> str:
    return message  # marks the text for the catalogue; translated in texts()


TEXTS = {
    "brand": _("Block editor"),
    "teams": _("Teams"),
    "team_blocks": _("Blocks of %(team)s"),
    "four_eyes": _("Four eyes: a block is set ready by a second person, not by whoever wrote it."),
    "new_block": _("New block"),
    "block": _("Block"),
    "title": _("Title"),
    "slot": _("Slot"),
    "locale": _("Language"),
    "status": _("Status"),
    "window": _("Shown"),
    "used": _("Used in"),
    "release": _("Release"),
    "last_change": _("Last change"),
    "not_used": _("in none of the coming editions"),
    "once_ready": _("once ready"),
    "broken": _("has errors"),
    "approved_by": _("approved by %(who)s"),
    "waits_for": _("waits for a second person (written by %(who)s)"),
    "waits": _("waits for a reviewer"),
    "errors_title": _("The content has errors; fix them before anything can be sent:"),
    "edit": _("Edit"),
    "name": _("Name of the new block"),
    "name_hint": _("Lowercase letters, digits and '-'; the file becomes <name>.<language>.mjml."),
    "name_rule": _("A name is lowercase letters, digits and '-', starting with a letter or digit."),
    "product_groups": _("Product groups"),
    "groups_hint": _("Customers who excluded one of these do not get the block."),
    "segments": _("Segments"),
    "segments_hint": _("None ticked: every segment."),
    "arm_of": _("Arm %(arm)s of %(original)s"),
    "arm_inherits": _("An arm of a test takes its slot, product groups, segments, priority and dates from the "
                      "original block (arm a): change them there."),
    "arm_unresolved": _("The original's values show here once the content checks without errors."),
    "every_group": _("none (every customer)"),
    "every_segment": _("every segment"),
    "priority": _("Priority"),
    "priority_hint": _("Higher first; empty: 0."),
    "publish": _("Publish from"),
    "expire": _("Expires on"),
    "expire_hint": _("No longer shown on or after this day."),
    "ready": _("ready"),
    "draft": _("draft"),
    "status_hint_editor": _("Only a reviewer of the team sets a block ready; your save keeps it a draft."),
    "body": _("MJML body"),
    "body_hint": _("The block's MJML, as in the file below its front matter."),
    "line": _("Line %(line)s"),
    "save": _("Save"),
    "preview": _("Preview"),
    "preview_as": _("Preview as"),
    "edition": _("Edition"),
    "segment": _("Segment"),
    "in_email": _("The block is in this email."),
    "not_in_email": _("The block is not in this email: %(why)s"),
    "problems": _("Please correct the marked fields; nothing was saved."),
    "general": _("Other problems"),
    "saved": _("Saved."),
    "unchanged": _("Nothing had changed; nothing was saved."),
    "conflict": _("Someone else saved this block since you opened it. Nothing was overwritten: their "
                  "version is below, your text is still in the form. Save again to replace theirs with yours."),
    "removed": _("The block was removed since you opened it. Save again to write it anew."),
    "their_version": _("The version saved meanwhile"),
    "history": _("Changes in the editor"),
    "back": _("All blocks of the team"),
    "warning": _("warning"),
    "only_reviewers": _("Only a reviewer of the team sets a block ready: save it as a draft, and a reviewer releases it."),
    "four_eyes_text": _("This team releases with four eyes: save your changes as a draft; another reviewer sets it ready."),
    "four_eyes_author": _("This team releases with four eyes: you wrote this version, so another reviewer sets it ready."),
    "signed_in_as": _("Signed in as %(name)s"),
    "preview_pages": _("Preview"),
}


@lru_cache(maxsize=None)
def texts(lang: str) -> dict[str, str]:
    gettext = translations.for_locale(lang).gettext
    return {key: gettext(text) for key, text in TEXTS.items()}
