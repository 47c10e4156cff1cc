"""The data contract: canonical fields, header aliases, vocabularies, the case-ID pattern.

Everything here is read from the configuration's ``contract.yaml`` (``ducha/conf/``, or
``DUCHA_CONFIG_DIR``) so that adding a header variant or a synonym is a data change, not
a code change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import ConfigDict, PositiveInt, field_validator, model_validator
from pydantic import Field as Spec

from ducha.config_files import ConfigModel, config_path, read_config

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
                index.setdefault(strip_unit(alias), f.name)
        return index


def strip_unit(header: str) -> str:
    # "责令整改（家）" and "罚款金额(万元)" match on the part before the unit.
    return re.sub(r"[（(][^（()）]*[)）]$", "", header).strip()


def split_unit(label: str) -> tuple[str, str]:
    """ "责令整改（家）" -> ("责令整改", "家"): a label's name and the unit it ends with."""
    name = strip_unit(label)
    return name, label[len(name) :].strip("（）()")


class FieldSpec(ConfigModel):
    label: str
    kind: FieldKind
    aliases: list[str] = Spec(default_factory=list)
    required: bool = False
    vocabulary: str | None = None
    max_length: PositiveInt | None = None


class VocabularySpec(ConfigModel):
    values: list[str] = Spec(min_length=1)
    synonyms: dict[str, str] = Spec(default_factory=dict)


class VerifiedVocabulary(VocabularySpec):
    unfounded: str


class StatusVocabulary(VocabularySpec):
    closed: list[str] = Spec(default_factory=list)
    partly_closed: list[str] = Spec(default_factory=list)


class TypesVocabulary(VocabularySpec):
    long_forms: dict[str, str] = Spec(default_factory=dict)
    separators: str = Spec(min_length=1)


class VocabulariesSpec(ConfigModel):
    """The three vocabularies the code counts by, and any other a field names."""

    verified: VerifiedVocabulary
    status: StatusVocabulary
    pollution_types: TypesVocabulary
    __pydantic_extra__: dict[str, VocabularySpec]
    model_config = ConfigDict(extra="allow")


class CaseIdSpec(ConfigModel):
    pattern: str
    channels: dict[str, str]

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, pattern: str) -> str:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from None
        return pattern


class FlagsSpec(ConfigModel):
    yes_words: list[str]
    no_words: list[str]


class PrivacySpec(ConfigModel):
    name_roles: list[str]
    not_names: list[str]
    name_ends: list[str]
    honorifics: list[str]
    compound_surnames: list[str]


class VersionsSpec(ConfigModel):
    """The fields a case version keeps: the facts a table shows, then the progress."""

    facts: list[str]
    progress: list[str]


class ContractFile(ConfigModel):
    """contract.yaml."""

    fields: dict[str, FieldSpec]
    versions: VersionsSpec
    internal_columns: list[str] = Spec(default_factory=list)
    vocabularies: VocabulariesSpec
    flags: FlagsSpec
    case_id: CaseIdSpec
    notes_row_prefixes: list[str] = Spec(default_factory=list)
    privacy: PrivacySpec

    @model_validator(mode="after")
    def _vocabularies_named_exist(self) -> ContractFile:
        known = {"verified", "status", "pollution_types", *(self.vocabularies.model_extra or {})}
        for name, spec in self.fields.items():
            if spec.vocabulary is not None and spec.vocabulary not in known:
                raise ValueError(f"fields.{name}.vocabulary: no vocabulary {spec.vocabulary!r}")
        unknown = [n for n in (*self.versions.facts, *self.versions.progress) if n not in self.fields]
        if unknown:
            raise ValueError(f"versions: no such field {', '.join(unknown)}")
        return self


def load_contract(path: Path | None = None) -> Contract:
    return _contract(path or config_path("contract.yaml"))


@cache
def _contract(path: Path) -> Contract:
    spec = read_config(path, ContractFile)
    vocabularies: dict[str, VocabularySpec] = {
        "verified": spec.vocabularies.verified,
        "status": spec.vocabularies.status,
        "pollution_types": spec.vocabularies.pollution_types,
        **(spec.vocabularies.model_extra or {}),
    }
    status = spec.vocabularies.status
    types = spec.vocabularies.pollution_types
    return Contract(
        fields={
            name: Field(
                name=name,
                label=f.label,
                kind=f.kind,
                aliases=tuple(f.aliases),
                required=f.required,
                vocabulary=f.vocabulary,
                max_length=f.max_length,
            )
            for name, f in spec.fields.items()
        },
        vocabularies={
            name: Vocabulary(name, tuple(v.values), dict(v.synonyms)) for name, v in vocabularies.items()
        },
        long_forms=dict(types.long_forms),
        type_separators=types.separators,
        internal_columns=tuple(spec.internal_columns),
        case_id_pattern=re.compile(spec.case_id.pattern),
        channels=dict(spec.case_id.channels),
        notes_row_prefixes=tuple(spec.notes_row_prefixes),
        closed_statuses=tuple(status.closed),
        partly_closed_statuses=tuple(status.partly_closed),
        unfounded=spec.vocabularies.verified.unfounded,
        flag_yes=frozenset(w.upper() for w in spec.flags.yes_words),
        flag_no=frozenset(w.upper() for w in spec.flags.no_words),
        fact_fields=tuple(spec.versions.facts),
        progress_fields=tuple(spec.versions.progress),
        privacy=Privacy(**{key: tuple(words) for key, words in spec.privacy.model_dump().items()}),
    )


def split_types(joined: str) -> list[str]:
    """The distinct pollution types of a stored cell, in order ("水、大气" -> ["水", "大气"])."""
    return list(dict.fromkeys(t.strip() for t in joined.split(TYPE_SEPARATOR) if t.strip()))
