"""Where the configuration is, and how one of its YAML files is read and checked.

The configuration ships inside the package (``ducha/conf/``), so an installed wheel has
it. ``DUCHA_CONFIG_DIR`` names an operator's own folder: each file found there (and its
``inspections/`` folder, as a whole) replaces the shipped one; a file it lacks is read
from the package. Every file is validated by a typed model (pydantic), and a file that
does not fit raises one :class:`ConfigError` naming the file and the key.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

PACKAGE_CONFIG_DIR = Path(__file__).resolve().parent / "conf"

Model = TypeVar("Model", bound=BaseModel)


class ConfigError(ValueError):
    """A configuration file that cannot be used: its path and what is wrong, key by key."""


class ConfigModel(BaseModel):
    """A block of a configuration file: no key it does not name (a typo must not be
    ignored), and no quiet conversion ("3" is not a number of days, yes is not a name)."""

    model_config = ConfigDict(extra="forbid", strict=True)


def config_path(name: str) -> Path:
    """A file (or the ``inspections`` folder) of the configuration: the operator's copy
    under ``DUCHA_CONFIG_DIR`` when there is one, else the package's."""
    return _config_path(os.environ.get("DUCHA_CONFIG_DIR", "").strip(), name)


@cache  # asked for on every load_contract() call: one look at the disk per folder and name
def _config_path(own: str, name: str) -> Path:
    if own and (Path(own) / name).exists():
        return Path(own) / name
    return PACKAGE_CONFIG_DIR / name


def read_config(path: Path, model: type[Model]) -> Model:
    """The YAML file at ``path``, validated by ``model``."""
    return validate_config(load_yaml(path), model, path)


def load_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None


def validate_config(raw: object, model: type[Model], source: Path | str) -> Model:
    """``raw`` (a file's content) validated by ``model``; ``source`` names it in errors."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError("\n".join(f"{source}: {problem}" for problem in problems(exc))) from None


def problems(exc: ValidationError) -> list[str]:
    """Each error as ``key.path[3].name: what is wrong``."""
    return [f"{_key_path(e['loc'])}: {_message(e)}" for e in exc.errors(include_url=False)]


def _key_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(the whole file)"


def _message(error: Any) -> str:
    kind = error["type"]
    if kind == "missing":
        return "field required"
    if kind == "extra_forbidden":
        return "unknown key (a typo?)"
    if kind == "value_error":
        return str(error["ctx"]["error"])
    return str(error["msg"])
