"""Who may set a block ``ready`` (release it to the sends), and who may touch a team's blocks.

An editor edits their team's blocks; a reviewer of the team may also set them ready; an admin
may do everything for every team. A team with ``four_eyes: true`` (teams.yaml) releases a
block only by a second person: setting it ready must change nothing but the status (else the
reviewer releases their own text), and the version's author must be someone else (the author as
the editor recorded it, else git's; a version neither knows came through the repository and its
own review). What is already ready and stays exactly as it is needs nobody's approval."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.exceptions import HTTPException

from service.content.model import Team
from service.staff.accounts import Account
from service.staff.tables import EDITOR

READY = "ready"


def must_edit(account: Account | None, team: str) -> Account:
    """The account, when it may edit ``team``'s blocks; 403 otherwise (also for a GET: the
    blocks of another team are not this editor's to read here either)."""
    if account is None:
        raise HTTPException(403, "The block editor needs a staff account of your own (newsletter staff add), "
                                 "so that every change names its author.")
    if not account.may_edit(team):
        raise HTTPException(403, f"You edit the blocks of team {account.team or '-'}; the blocks of "
                                 f"{team!r} are that team's.")
    return account


def may_release(account: Account, team: str) -> bool:
    return account.may_edit(team) and account.role != EDITOR


@dataclass(frozen=True)
class Release:
    """Whether a save would release the block, and what stands against it (a text key)."""

    releases: bool  # the save sets the block ready (it was not, or its text changes)
    problem: str | None  # None: allowed


def judge(account: Account, team: Team, was: str | None, now: str, text_changed: bool,
          author: str | None) -> Release:
    """``was``: the status on disk (None: a new block); ``now``: the status asked for;
    ``text_changed``: anything but the status differs from the file; ``author``: who wrote the
    version on disk (None: not known, e.g. changed outside the editor)."""
    if now != READY or (was == READY and not text_changed):
        return Release(False, None)
    if not may_release(account, team.id):
        return Release(True, "only_reviewers")
    if team.four_eyes:  # admins too: four eyes are two people, whatever their role
        if text_changed or was is None:
            return Release(True, "four_eyes_text")
        if author is not None and author == account.name:
            return Release(True, "four_eyes_author")
    return Release(True, None)
