"""The Data Docs site's views (ducha.intake.docs_views): GX's pages, with their Jinja
templates compiled once rather than once per site build."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import jinja2
import pytest

from ducha.config import Inspection
from ducha.intake import parse_file
from ducha.intake.docs_views import bytecode_cache
from ducha.intake.validator import Validator, run_key
from tests.unit.intake.conftest import case, standard_sheet, validate, write_xlsx


@pytest.fixture
def compiles(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The names of the templates Jinja compiles from source."""
    names: list[str] = []
    compile_ = jinja2.Environment.compile

    def counted(self, source, name=None, filename=None, raw=False, defer_init=False):  # type: ignore[no-untyped-def]
        names.append(name)
        return compile_(self, source, name, filename, raw, defer_init)

    monkeypatch.setattr(jinja2.Environment, "compile", counted)
    yield names


def _site(tmp_path: Path, hn: Inspection, n: int) -> Path:
    path = write_xlsx(tmp_path / f"第{n}批.xlsx", standard_sheet([case(n), case(n + 1, 是否办结="待定")]))
    parsed = parse_file(path, hn)
    docs = tmp_path / f"docs{n}"
    validate(Validator(tmp_path / "gx", docs), parsed)
    pages = [p for p in docs.rglob("*.html") if run_key([parsed]) in str(p)]
    assert (docs / "index.html").is_file() and pages
    return docs


@pytest.mark.parametrize("where", ["folder", "memory"])
def test_a_second_site_compiles_no_template(
    tmp_path: Path, hn: Inspection, compiles: list[str], monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    folder = tmp_path / "bytecode"
    if where == "memory":  # Jinja refuses a cache folder it does not own
        monkeypatch.setattr("ducha.intake.docs_views.FileSystemBytecodeCache", _refused)
    else:  # a fresh folder stands for the user's temporary one, which may be warm
        folder.mkdir()
        cache = jinja2.FileSystemBytecodeCache(str(folder))
        monkeypatch.setattr("ducha.intake.docs_views.FileSystemBytecodeCache", lambda: cache)
    bytecode_cache.cache_clear()
    try:
        first = _site(tmp_path, hn, 1)
        assert [n for n in compiles if n and n.endswith(".j2")], "the first site compiles GX's templates"
        compiles.clear()
        second = _site(tmp_path, hn, 3)
        assert [n for n in compiles if n and n.endswith(".j2")] == []
        assert _page_names(first) == _page_names(second)
        assert (where == "folder") == any(folder.glob("*.cache"))
    finally:
        bytecode_cache.cache_clear()


def _refused() -> jinja2.BytecodeCache:
    raise RuntimeError("The cache directory is not owned by the current user")


def _page_names(docs: Path) -> list[str]:
    """The site's page kinds: its index, a suite page, a run page."""
    return sorted({p.relative_to(docs).parts[0] for p in docs.rglob("*.html")})
