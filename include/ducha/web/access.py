"""Who may see which regions on the officers' pages, and who may sign a day off.

The mapping lives in ``include/config/access.yaml`` (or the file ``DUCHA_ACCESS_FILE``
names); every route asks :func:`scope_for` and filters by the :class:`Scope` it gets,
downloads and search included.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from ducha.config import CONFIG_DIR, Inspection

ALL = "*"


@dataclass(frozen=True)
class Scope:
    """What one user sees: the whole province, or some regions (city or county names
    as the inspection's configuration writes them), and whether they may sign off."""

    everything: bool = False
    regions: frozenset[str] = frozenset()
    publisher: bool = False

    @property
    def nothing(self) -> bool:
        return not self.everything and not self.regions

    def cities(self, insp: Inspection) -> set[str]:
        """The cities this scope covers whole (a county does not cover its city)."""
        return {r for r in self.regions if insp.city_of(r) == r}

    def counties(self, insp: Inspection) -> set[str]:
        """The county-level regions of this scope, written as cases write them
        ("长沙市天心区"): its city's name first, so a prefix match finds them."""
        out = set()
        for region in self.regions:
            city = insp.city_of(region)
            if city != region:
                out.add(region if region.startswith(city) else city + region)
        return out

    def sees_region(self, insp: Inspection, region: str) -> bool:
        """May this scope see a case (or a table) of ``region``?"""
        if self.everything:
            return True
        if insp.city_of(region) in self.cities(insp):
            return True
        return any(region.startswith(c) for c in self.counties(insp))

    def sees_table(self, insp: Inspection, region: str | None) -> bool:
        """A published table covers one city (``region``) or the whole province (None):
        a scope sees it only if it covers every row of it."""
        if self.everything:
            return True
        return region is not None and region in self.cities(insp)


NOBODY = Scope()


def access_file() -> Path:
    return Path(os.environ.get("DUCHA_ACCESS_FILE") or CONFIG_DIR / "access.yaml")


def load_access(path: Path | None = None) -> dict:
    """The access mapping, checked: a typo must not widen anyone's scope silently."""
    raw = yaml.safe_load((path or access_file()).read_text(encoding="utf-8")) or {}
    if not isinstance(raw, dict) or set(raw) - {"users", "roles"}:
        raise ValueError("access: only 'users' and 'roles' may be set")
    for section in ("users", "roles"):
        entries = raw.get(section) or {}
        if not isinstance(entries, dict):
            raise ValueError(f"access: {section} must map names to entries")
        for name, entry in entries.items():
            _scope_of(entry, f"{section}.{name}")
    return raw


def _scope_of(entry: object, where: str) -> Scope:
    if not isinstance(entry, dict) or set(entry) - {"regions", "publisher"}:
        raise ValueError(f"access: {where} may set only 'regions' and 'publisher'")
    regions = entry.get("regions")
    publisher = entry.get("publisher", False)
    if not isinstance(publisher, bool):
        raise ValueError(f"access: {where}.publisher must be true or false")
    if regions == ALL:
        return Scope(everything=True, publisher=publisher)
    if not isinstance(regions, list) or not all(isinstance(r, str) and r.strip() for r in regions):
        raise ValueError(f'access: {where}.regions must be "*" or a list of region names')
    return Scope(regions=frozenset(r.strip() for r in regions), publisher=publisher)


def scope_for(user_name: str, roles: list[str], mapping: dict) -> Scope:
    """The user's own entry if there is one (it replaces what their roles give: a county
    officer with a wide Airflow role stays in their county), else the union of their
    roles' entries; nobody's scope otherwise."""
    users = mapping.get("users") or {}
    if user_name in users:
        return _scope_of(users[user_name], f"users.{user_name}")
    role_entries = {str(k).lower(): v for k, v in (mapping.get("roles") or {}).items()}
    scopes = [_scope_of(role_entries[r.lower()], f"roles.{r}") for r in roles if r.lower() in role_entries]
    if not scopes:
        return NOBODY
    return Scope(
        everything=any(s.everything for s in scopes),
        regions=frozenset().union(*(s.regions for s in scopes)),
        publisher=any(s.publisher for s in scopes),
    )
