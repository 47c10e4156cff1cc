"""The data contract: canonical fields, header aliases, vocabularies, the case-ID pattern.

Everything here is read from ``include/config/contract.yaml`` so that adding a header
variant or a synonym is a data change, not a code change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import yaml

CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"
# How a case's pollution types are joined when stored and published (read: any of type_separators).
TYPE_SEPARATOR = "、"

FieldKind = Literal["int", "text", "id", "region", "types", "enum", "flag", "date", "count", "money"]


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: FieldKind
    aliases: tuple[str, ...]
    required: bool = False
    vocabulary: str | None = None
    max_length: int | None = None


@dataclass(frozen=True)
class Vocabulary:
    name: str
    values: tuple[str, ...]
    synonyms: dict[str, str]


@dataclass(frozen=True)
class Privacy:
    """Words around a person's name in free text (disclosure/redact.py)."""

    name_roles: tuple[str, ...]
    not_names: tuple[str, ...]
    name_ends: tuple[str, ...]
    honorifics: tuple[str, ...]
    compound_surnames: tuple[str, ...]


@dataclass(frozen=True)
class Contract:
    fields: dict[str, Field]
    vocabularies: dict[str, Vocabulary]
    long_forms: dict[str, str]
    type_separators: str
    internal_columns: tuple[str, ...]
    case_id_pattern: re.Pattern[str]
    channels: dict[str, str]
    notes_row_prefixes: tuple[str, ...]
    closed_statuses: tuple[str, ...]
    partly_closed_statuses: tuple[str, ...]
    privacy: Privacy
    unfounded: str  # the verified value of a complaint found untrue (不属实)
    flag_yes: frozenset[str]
    flag_no: frozenset[str]
    fact_fields: tuple[str, ...]  # what a case is: each version carries it (versions.facts)
    progress_fields: tuple[str, ...]  # what a version reports of its handling (versions.progress)

    @property
    def required(self) -> list[str]:
        return [f.name for f in self.fields.values() if f.required]

    @property
    def penalty_fields(self) -> list[str]:
        return [f.name for f in self.fields.values() if f.kind in ("count", "money")]

    @property
    def money_fields(self) -> list[str]:
        return [f.name for f in self.fields.values() if f.kind == "money"]

    @property
    def state_fields(self) -> tuple[str, ...]:
        """The fields of a case's versioned state, in the order its hash takes them."""
        return (*self.fact_fields, *self.progress_fields, *self.penalty_fields)

    @property
    def closed_label(self) -> str:
        """The word published tables count closed cases under (已办结)."""
        return self.closed_statuses[0]

    @property
    def partly_closed_label(self) -> str:
        """The word published tables count partly closed cases under (阶段性办结)."""
        return self.partly_closed_statuses[0]

    def alias_index(self) -> dict[str, str]:
        """Normalised header text -> field name."""
        index: dict[str, str] = {}
        for f in self.fields.values():
            for alias in (f.label, *f.aliases):
                index.setdefault(_strip_unit(alias), f.name)
        return index


def _strip_unit(header: str) -> str:
    # "责令整改（家）" and "罚款金额(万元)" match on the part before the unit.
    return re.sub(r"[（(][^（()）]*[)）]$", "", header).strip()


@cache
def load_contract(path: Path | None = None) -> Contract:
    raw = yaml.safe_load((path or CONFIG_DIR / "contract.yaml").read_text(encoding="utf-8"))
    fields = {
        name: Field(
            name=name,
            label=spec["label"],
            kind=spec["kind"],
            aliases=tuple(spec.get("aliases", ())),
            required=bool(spec.get("required", False)),
            vocabulary=spec.get("vocabulary"),
            max_length=spec.get("max_length"),
        )
        for name, spec in raw["fields"].items()
    }
    vocabs = {
        name: Vocabulary(name, tuple(spec["values"]), dict(spec.get("synonyms") or {}))
        for name, spec in raw["vocabularies"].items()
    }
    versions = raw["versions"]
    unknown = [n for n in (*versions["facts"], *versions["progress"]) if n not in fields]
    if unknown:
        raise ValueError(f"contract versions: no such field {', '.join(unknown)}")
    types = raw["vocabularies"]["pollution_types"]
    status = raw["vocabularies"]["status"]
    return Contract(
        fields=fields,
        vocabularies=vocabs,
        long_forms=dict(types.get("long_forms") or {}),
        type_separators=types["separators"],
        internal_columns=tuple(raw.get("internal_columns", ())),
        case_id_pattern=re.compile(raw["case_id"]["pattern"]),
        channels=dict(raw["case_id"]["channels"]),
        notes_row_prefixes=tuple(raw.get("notes_row_prefixes", ())),
        closed_statuses=tuple(status.get("closed", ())),
        partly_closed_statuses=tuple(status.get("partly_closed", ())),
        unfounded=str(raw["vocabularies"]["verified"]["unfounded"]),
        flag_yes=frozenset(str(w).upper() for w in raw["flags"]["yes_words"]),
        flag_no=frozenset(str(w).upper() for w in raw["flags"]["no_words"]),
        fact_fields=tuple(versions["facts"]),
        progress_fields=tuple(versions["progress"]),
        privacy=Privacy(**{key: tuple(words) for key, words in raw["privacy"].items()}),
    )


def split_types(joined: str) -> list[str]:
    """The distinct pollution types of a stored cell, in order ("水、大气" -> ["水", "大气"])."""
    return list(dict.fromkeys(t.strip() for t in joined.split(TYPE_SEPARATOR) if t.strip()))


def strip_unit(header: str) -> str:
    return _strip_unit(header)
