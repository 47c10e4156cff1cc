"""Paths Ducha writes: built from a root, checked to stay under it.

Names that come from data (a region cell) are reduced to safe file-name components with
``safe_name``; names that come from an operator (an inspection id, a day) must match a
strict pattern (the same patterns the DAGs' Param schemas use). Every folder and file a
run writes is then joined with ``under``, which refuses anything that would resolve
outside its root (``..``, separators, absolute parts, links that lead out).
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from pathlib import Path

# Ids like "c3-hn-2024"; no dots, so no "..", no hidden names. The patterns also go into
# the DAGs' Param schemas, which Python's jsonschema applies with re.search: there "$"
# also matches before a final newline, hence "(?!\n)" (valid in ECMA-262 as well).
INSPECTION_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}(?!\n)$"
DAY_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}(?!\n)$"
_INSPECTION_ID = re.compile(INSPECTION_ID_PATTERN)

# File systems allow 255 bytes a name; atomic writes add ".<name>.<12 hex>.part".
MAX_NAME_BYTES = 230
# What a data value may take of a file name ("第N批公开情况一览表（<region>）.xlsx").
MAX_PART_BYTES = 90
_UNSAFE_CHARS = re.compile(r'[/\\:*?"<>|\x00-\x1f\x7f\uff0f\uff3c]')
_WINDOWS_RESERVED = re.compile(r"^(?:CON|PRN|AUX|NUL|COM[0-9]|LPT[0-9])(?:\..*)?$", re.IGNORECASE)


class UnsafePath(ValueError):
    """A name or path that would leave its root, or is not a plain file name."""


def check_inspection_id(value: str) -> str:
    """An inspection id as operators pass it (DAG param, CLI option): a strict pattern,
    so it can only ever name one folder under a data root."""
    if not isinstance(value, str) or not _INSPECTION_ID.fullmatch(value):
        raise UnsafePath(
            f"inspection id {value!r} is not valid: letters, digits, '-' and '_' only "
            f"(pattern {INSPECTION_ID_PATTERN})"
        )
    return value


def safe_name(text: str, *, max_bytes: int = MAX_PART_BYTES) -> str:
    """A data value reduced to a safe file-name component.

    Separators, control characters and characters Windows refuses become "_"; leading
    dots and surrounding spaces go; a value over ``max_bytes`` (UTF-8) is cut on a
    character boundary and given a short digest of the whole, so two long values that
    share a prefix still get different names. Readable Chinese stays as it is.
    """
    name = _UNSAFE_CHARS.sub("_", unicodedata.normalize("NFC", str(text)))
    name = "".join("_" if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch for ch in name)
    name = name.strip().lstrip(".").rstrip(". ")
    if not name:
        name = "_"
    if _WINDOWS_RESERVED.match(name):
        name = "_" + name
    if len(name.encode("utf-8")) > max_bytes:
        digest = hashlib.sha256(str(text).encode("utf-8")).hexdigest()[:8]
        budget = max_bytes - len(digest) - 1
        cut = name.encode("utf-8")[:budget].decode("utf-8", errors="ignore")
        name = f"{cut}~{digest}"
    return name


def _check_part(part: str) -> None:
    if (
        not isinstance(part, str)
        or part in ("", ".", "..")
        or "/" in part
        or "\\" in part
        or "\x00" in part
        or len(part.encode("utf-8")) > 255
    ):
        raise UnsafePath(f"not a plain file name: {part!r}")


def under(root: Path, *parts: str) -> Path:
    """``root / part / …``, refused unless every part is a plain name and the result,
    with links resolved, stays inside ``root``."""
    for part in parts:
        _check_part(part)
    base = Path(root).resolve()
    path = base.joinpath(*parts)
    if not path.resolve().is_relative_to(base):
        raise UnsafePath(f"{path} leads outside {base}")
    return path


def sha256_file(path: str | os.PathLike[str]) -> str:
    """The hex sha256 of a file's bytes: how a file is known (landed, stored, published)."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()
