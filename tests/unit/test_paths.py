"""Names from data and operators become paths that stay where they belong (ducha.paths)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ducha.paths import UnsafePath, check_inspection_id, safe_name, under


@pytest.mark.parametrize("good", ["c3-hn-2024", "p1_hunan", "X", "a" * 64])
def test_inspection_ids_accepted(good: str) -> None:
    assert check_inspection_id(good) == good


@pytest.mark.parametrize(
    "bad",
    [
        "../keep",
        "..",
        ".",
        "a/b",
        "a\\b",
        ".hidden",
        "",
        "x" * 65,
        "c3 hn",
        "c3-hn-2024\n",
        "-x",
        "湖南",
        None,
        3,
    ],
)
def test_inspection_ids_refused(bad: object) -> None:
    with pytest.raises(UnsafePath):
        check_inspection_id(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("长沙市岳麓区", "长沙市岳麓区"),  # readable Chinese stays as it is
        ("长沙／岳麓区", "长沙_岳麓区"),
        ("x／..／..／escaped", "x_.._.._escaped"),
        ("../../etc", "_.._etc"),
        ("..", "_"),
        ('a\\b:c*d?e"f<g>h|i', "a_b_c_d_e_f_g_h_i"),
        ("a\x00b\x1fc", "a_b_c"),
        ("CON", "_CON"),
        ("  名称  ", "名称"),
    ],
)
def test_safe_name(value: str, expected: str) -> None:
    assert safe_name(value) == expected
    assert under(Path("/tmp"), safe_name(value))  # always a plain name


def test_long_names_are_cut_with_a_digest() -> None:
    a, b = "某" * 200 + "甲", "某" * 200 + "乙"
    na, nb = safe_name(a), safe_name(b)
    assert len(na.encode()) <= 90 and len(nb.encode()) <= 90
    assert re.search(r"~[0-9a-f]{8}$", na) and na != nb
    assert safe_name(a) == na  # deterministic
    assert len(safe_name(a, max_bytes=200).encode()) <= 200


def test_under_accepts_plain_parts(tmp_path: Path) -> None:
    assert (
        under(tmp_path, "c3-hn-2024", "2024-06-01", "表.xlsx")
        == tmp_path.resolve() / "c3-hn-2024/2024-06-01/表.xlsx"
    )


@pytest.mark.parametrize(
    "parts", [("..",), ("a", ".."), ("a/b",), ("/etc",), ("",), (".",), ("a\x00",), ("x" * 256,)]
)
def test_under_refuses_what_is_not_a_plain_name(tmp_path: Path, parts: tuple[str, ...]) -> None:
    with pytest.raises(UnsafePath):
        under(tmp_path, *parts)


def test_under_refuses_a_link_that_leads_out(tmp_path: Path) -> None:
    root, outside = tmp_path / "outbox", tmp_path / "archive"
    root.mkdir()
    outside.mkdir()
    (root / "c3-hn-2024").symlink_to(outside, target_is_directory=True)
    with pytest.raises(UnsafePath):
        under(root, "c3-hn-2024", "2024-06-01")
