"""Names from data and operators become paths that stay where they belong (ducha.paths)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ducha.paths import MAX_NAME_BYTES, MAX_PART_BYTES, UnsafePath, check_inspection_id, safe_name, under


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
        ("a\x00b", "a_b"),
        ("a\\b", "a_b"),
        ("..\\..\\etc", "_.._etc"),
        ("长沙＼岳麓区", "长沙_岳麓区"),
        ("CON", "_CON"),
        ("  名称  ", "名称"),
    ],
)
def test_safe_name(value: str, expected: str) -> None:
    assert safe_name(value) == expected
    assert under(Path("/tmp"), safe_name(value))  # always a plain name


@pytest.mark.parametrize("max_bytes", [MAX_PART_BYTES, 200, MAX_NAME_BYTES])
def test_long_names_are_cut_with_a_digest(max_bytes: int) -> None:
    a, b = "某" * 199 + "甲", "某" * 199 + "乙"  # 600 bytes each, the same 597-byte prefix
    assert len(a.encode()) == len(b.encode()) == 600
    na, nb = safe_name(a, max_bytes=max_bytes), safe_name(b, max_bytes=max_bytes)
    for name in (na, nb):
        assert len(name.encode()) <= max_bytes
        assert re.fullmatch(r"某+~[0-9a-f]{8}", name), name  # cut on a character boundary
        assert under(Path("/tmp"), name)
    assert na != nb
    assert safe_name(a, max_bytes=max_bytes) == na  # deterministic


def test_default_cut_leaves_room_for_the_rest_of_a_published_name() -> None:
    name = safe_name("某" * 200)
    assert len(name.encode()) <= MAX_PART_BYTES
    # "第三批公开情况一览表（…）.xlsx" and the atomic writer's ".<name>.<12 hex>.part".
    full = f"第三批公开情况一览表（{name}）.xlsx"
    assert len(full.encode()) <= MAX_NAME_BYTES and len(f".{full}.{'0' * 12}.part".encode()) <= 255


def test_names_within_the_limit_keep_their_text() -> None:
    text = "某" * (MAX_PART_BYTES // 3)  # exactly MAX_PART_BYTES bytes
    assert safe_name(text) == text


@pytest.mark.parametrize(
    "hostile",
    [
        "长沙／岳麓区",
        "x／..／..／..／..／escaped",
        "../../etc/passwd",
        "..\\..\\windows",
        "长沙＼岳麓区",
        "/abs/path",
        ".",
        "...",
        " . ",
        "a\x00b",
        "\n",
        "a\u202eb",  # right-to-left override
        "x" * 300,
        "某" * 200 + "／..",
        "NUL.txt",
        "com1",
    ],
)
def test_safe_name_always_gives_one_plain_visible_name(hostile: str) -> None:
    name = safe_name(hostile)
    assert name and name not in (".", "..") and not name.startswith(".")
    assert not set(name) & set('/\\:*?"<>|\x00／＼')
    assert name.isprintable() and name == name.strip()
    assert len(name.encode()) <= MAX_PART_BYTES
    assert not re.fullmatch(r"(?i)(CON|PRN|AUX|NUL|COM[0-9]|LPT[0-9])(\..*)?", name)
    assert under(Path("/tmp"), name).parent == Path("/tmp").resolve()


def test_under_accepts_plain_parts(tmp_path: Path) -> None:
    assert (
        under(tmp_path, "c3-hn-2024", "2024-06-01", "表.xlsx")
        == tmp_path.resolve() / "c3-hn-2024/2024-06-01/表.xlsx"
    )


@pytest.mark.parametrize(
    "parts",
    [
        ("..",),
        ("a", ".."),
        ("..", "..", "keep"),
        ("a/b",),
        ("a\\b",),
        ("/etc",),
        ("a", "/etc"),
        ("/",),
        ("",),
        ("a", ""),
        (".",),
        ("a\x00",),
        ("x" * 256,),
    ],
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


def test_under_refuses_a_relative_link_or_a_file_link_that_leads_out(tmp_path: Path) -> None:
    root = tmp_path / "outbox"
    (root / "c3-hn-2024").mkdir(parents=True)
    (tmp_path / "secret.txt").write_text("x", encoding="utf-8")
    (root / "c3-hn-2024" / "up").symlink_to(Path("..") / "..", target_is_directory=True)
    (root / "c3-hn-2024" / "表.xlsx").symlink_to(tmp_path / "secret.txt")
    for parts in (("c3-hn-2024", "up"), ("c3-hn-2024", "up", "secret.txt"), ("c3-hn-2024", "表.xlsx")):
        with pytest.raises(UnsafePath):
            under(root, *parts)


def test_under_accepts_a_link_that_stays_inside(tmp_path: Path) -> None:
    root = tmp_path / "outbox"
    (root / "real").mkdir(parents=True)
    (root / "alias").symlink_to(root / "real", target_is_directory=True)
    assert under(root, "alias", "表.xlsx") == root.resolve() / "alias" / "表.xlsx"
