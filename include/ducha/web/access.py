"""Who may see which regions on the officers' pages, and who may sign a day off.

The mapping is the configuration's ``access.yaml`` (or the file ``DUCHA_ACCESS_FILE``
names), read and checked by :func:`ducha.config.load_access`; every route asks
:func:`scope_for` and filters by the :class:`Scope` it gets, downloads and search included.
"""

from __future__ import annotations

from dataclasses import dataclass

from ducha.config import ALL_REGIONS, AccessEntry, AccessMap, Inspection

__all__ = ["NOBODY", "Scope", "scope_for"]


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


def _scope_of(entry: AccessEntry) -> Scope:
    if entry.regions == ALL_REGIONS:
        return Scope(everything=True, publisher=entry.publisher)
    return Scope(regions=frozenset(entry.regions), publisher=entry.publisher)


def scope_for(user_name: str, roles: list[str], mapping: AccessMap) -> Scope:
    """The user's own entry if there is one (it replaces what their roles give: a county
    officer with a wide Airflow role stays in their county), else the union of their
    roles' entries; nobody's scope otherwise."""
    if user_name in mapping.users:
        return _scope_of(mapping.users[user_name])
    role_entries = {k.lower(): v for k, v in mapping.roles.items()}
    scopes = [_scope_of(role_entries[r.lower()]) for r in roles if r.lower() in role_entries]
    if not scopes:
        return NOBODY
    return Scope(
        everything=any(s.everything for s in scopes),
        regions=frozenset().union(*(s.regions for s in scopes)),
        publisher=any(s.publisher for s in scopes),
    )
