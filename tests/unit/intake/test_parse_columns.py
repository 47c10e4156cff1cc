"""Each column is converted once per distinct cell value: the result must be exactly the
cell-by-cell conversion, whatever the mix of types in the column."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ducha.intake import values as V
from ducha.intake.parse import _convert_column, _empty, _int, _memo_map
from ducha.intake.reader import EXCEL_ERRORS

CELLS = st.lists(
    st.one_of(
        st.none(),
        st.sampled_from(["", " ", "长沙市", "长沙市 ", "1", "是", "#DIV/0!", "3家", "abc"]),
        st.text(max_size=4),
        st.integers(-2, 2),
        st.sampled_from([0.0, 1.0, 2.5, float("nan")]),
        st.booleans(),
        st.just(dt.datetime(2024, 6, 3)),
    ),
    max_size=40,
)


def _typed(cell: object) -> str:
    return f"{type(cell).__name__}:{cell!r}"


# A column of numbers and blanks only (序号, counts) takes its own, array path.
NUMBERS = st.lists(
    st.one_of(st.none(), st.sampled_from([0.0, 1.0, 2.5, 1e300, float("nan"), float("inf")])), max_size=40
)


@given(st.one_of(CELLS, NUMBERS))
def test_memo_map_is_the_cell_by_cell_map(cells: list[object]) -> None:
    # 1, 1.0 and True are equal as dict keys: each must still get its own conversion.
    assert _memo_map(cells, _typed) == [_typed(c) for c in cells]


@given(st.lists(st.one_of(st.none(), st.sampled_from(["3", "3家", "x", "", "1.5万元", "#N/A"])), max_size=40))
def test_convert_column_reports_each_bad_cell_at_its_position(cells: list[object]) -> None:
    def number(cell: object) -> object:
        text = str(cell).removesuffix("家")
        if not text.replace(".", "").isdigit():
            raise ValueError("数字")
        return float(text)

    values, gave, failures = _convert_column(cells, "count", number)
    assert len(values) == len(gave) == len(cells)
    bad = [pos for pos, c in enumerate(cells) if c not in (None, "", "3", "3家")]
    assert [f[0] for f in failures] == bad
    assert gave == [c not in (None, "") for c in cells]
    assert [v for v, c in zip(values, cells, strict=True) if c in ("3", "3家")] == [3.0] * sum(
        c in ("3", "3家") for c in cells
    )


# The columns whose commonest cells skip the general reading (a case ID, 序号): mixed with
# everything the general reading handles.
MIXED = st.lists(
    st.one_of(
        st.none(),
        st.text(alphabet="ABCDHNXabc0123456789", min_size=1, max_size=16),
        st.text(max_size=6),
        st.sampled_from(["", " ", "#N/A", "D3HN20240601 0001", "３家", "1.5万元", "ａｂ1"]),
        st.floats(allow_nan=True, allow_infinity=False),
        st.integers(-3, 3),
        st.booleans(),
    ),
    max_size=40,
)


@pytest.mark.parametrize(
    ("kind", "convert"),
    [("id", V.as_text), ("text", V.as_text), ("int", _int), ("count", V.number)],
)
@given(cells=MIXED)
def test_a_column_read_as_a_whole_is_each_cell_read_alone(kind: str, convert, cells: list[object]) -> None:  # type: ignore[no-untyped-def]
    def alone(cell: object) -> tuple[object, bool]:
        if V.is_blank(cell):
            return _empty(kind), False
        if cell in EXCEL_ERRORS:
            return _empty(kind), True
        try:
            return convert(cell), True
        except ValueError:
            return None, True

    values, gave, _ = _convert_column(cells, kind, convert)
    expected = [alone(c) for c in cells]
    assert [(type(v), v) for v in values] == [(type(v), v) for v, _ in expected]
    assert gave == [g for _, g in expected]
