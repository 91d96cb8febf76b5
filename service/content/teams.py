"""teams.yaml and product_groups.yaml: who writes content, and what customers can opt out of."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

from service.content.reading.field_reader import FieldReader
from service.content.files import read_yaml
from service.content.model import ProductGroup, Team
from service.content.problems import Problems
from service.content.reading.yaml_lines import LinedList


def _items(root: Path, name: str, key: str, problems: Problems, shown_root: str):
    path = root / name
    shown = f"{shown_root}/{name}"
    if not path.is_file():
        problems.error(shown, 1, f"missing file: {name} declares the {key.replace('_', ' ')}")
        return shown, []
    before = len(problems.items)
    data = read_yaml(path, shown, problems)
    if data is None:
        if len(problems.items) == before:
            problems.error(shown, 1, f"{name} is empty: it declares the {key.replace('_', ' ')} "
                                     f"({key}: followed by a list)")
        return shown, []
    top = FieldReader(data, problems, shown)
    top.only((key,))
    items = top.raw(key)
    if not isinstance(items, list) or not items:
        top.error(key if top.has(key) else None, f"{key!r} must be a non-empty list")
        return shown, []
    return shown, [(item, items.line_of(i) if isinstance(items, LinedList) else 1)
                   for i, item in enumerate(items)]


def load_teams(root: Path, problems: Problems, shown_root: str) -> dict[str, Team] | None:
    """The teams, or None when teams.yaml has errors: then every check that names a team is
    skipped, so that the one root cause is reported rather than its consequences everywhere."""
    before = len(problems.errors)
    shown, items = _items(root, "teams.yaml", "teams", problems, shown_root)
    teams: dict[str, Team] = {}
    for item, line in items:
        reader = FieldReader(item, problems, shown, line, "team (id, name, reviewers)")
        reader.only(("id", "name", "reviewers", "four_eyes"))
        team_id = reader.ident("id")
        name = reader.text("name", required=True)
        reviewers = tuple(r for r, _ in reader.text_list("reviewers") or [])
        if not reviewers:
            reader.error("reviewers" if reader.has("reviewers") else None,
                         "a team needs at least one reviewer (e.g. \"@org/team\") for CODEOWNERS")
        if team_id is None or name is None:
            continue
        if team_id in teams:
            reader.error("id", f"duplicate team id {team_id!r}")
            continue
        teams[team_id] = Team(team_id, name, reviewers, reader.flag("four_eyes", False))
    return None if len(problems.errors) > before else teams


def load_product_groups(root: Path, locales: tuple[str, ...], problems: Problems,
                        shown_root: str) -> dict[str, ProductGroup]:
    shown, items = _items(root, "product_groups.yaml", "product_groups", problems, shown_root)
    groups: dict[str, ProductGroup] = {}
    for item, line in items:
        reader = FieldReader(item, problems, shown, line, "product group (id, label, description)")
        reader.only(("id", "label", "description"))
        group_id = reader.ident("id")
        labels = reader.per_locale("label", locales, required=True)
        if group_id is None:
            continue
        if group_id in groups:
            reader.error("id", f"duplicate product group id {group_id!r}")
            continue
        groups[group_id] = ProductGroup(group_id, MappingProxyType(labels) if labels else
                                        MappingProxyType({locales[0]: group_id}),
                                        reader.text("description", "") or "")
    return groups
