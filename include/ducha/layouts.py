"""How a published table is laid out (layouts.yaml): its title and its columns, each a
contract field under the header offices print. Configuration, read by intake (the blank
template) and disclosure (the tables) alike."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import Field as Spec
from pydantic import PositiveFloat, field_validator

from ducha.config_files import ConfigModel, config_path, read_config
from ducha.contract import load_contract


@dataclass(frozen=True)
class LayoutColumn:
    field: str
    header: str
    width: float
    align: str | None = None  # left / center / right, where offices set it (序号 centred)


@dataclass(frozen=True)
class Layout:
    name: str
    title: str
    columns: tuple[LayoutColumn, ...]


class ColumnSpec(ConfigModel):
    field: str
    header: str
    width: PositiveFloat = 12
    align: Literal["left", "center", "right"] | None = None

    @field_validator("field")
    @classmethod
    def _a_contract_field(cls, name: str) -> str:
        if name not in load_contract().fields:
            raise ValueError(f"no field {name!r} in the contract")
        return name


class LayoutSpec(ConfigModel):
    title: str
    columns: list[ColumnSpec] = Spec(min_length=1)


class LayoutsFile(ConfigModel):
    """layouts.yaml."""

    layouts: dict[str, LayoutSpec]


def layouts() -> dict[str, Layout]:
    return _layouts(config_path("layouts.yaml"))


@cache
def _layouts(path: Path) -> dict[str, Layout]:
    return {
        name: Layout(
            name,
            spec.title,
            tuple(LayoutColumn(c.field, c.header, c.width, c.align) for c in spec.columns),
        )
        for name, spec in read_config(path, LayoutsFile).layouts.items()
    }
