"""The naive script a newcomer would write first, as the baseline of `make bench`:
pandas ``read_excel`` (openpyxl), a six-expectation GX suite on the frame, ``to_sql``.

    python bench/naive.py WORKBOOK WAREHOUSE_URL
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import great_expectations as gx
import great_expectations.expectations as gxe
import pandas as pd
from sqlalchemy import create_engine


def suite_runner(*, quiet: bool = False) -> Callable[[pd.DataFrame], bool]:
    """The GX context, a data asset and the six expectations a newcomer writes first, set
    up once; the function returned validates a whole frame with them. ``quiet``: no
    progress bars (the floor's: a bar drawn to a log is work no pipeline needs)."""
    ctx = gx.get_context(mode="ephemeral")
    if quiet:
        ctx.variables.progress_bars = {"globally": False}
    whole = (
        ctx.data_sources.add_pandas("naive")
        .add_dataframe_asset("rows")
        .add_batch_definition_whole_dataframe("all")
    )
    suite = ctx.suites.add(
        gx.ExpectationSuite(
            name="naive",
            expectations=[
                gxe.ExpectColumnValuesToNotBeNull(column="受理编号"),
                gxe.ExpectColumnValuesToBeUnique(column="受理编号"),
                gxe.ExpectColumnValuesToMatchRegex(column="受理编号", regex=r"^[DX]\d[A-Z]{2}\d{12}$"),
                gxe.ExpectColumnValuesToNotBeNull(column="交办问题基本情况"),
                gxe.ExpectColumnValuesToNotBeNull(column="行政区域"),
                gxe.ExpectColumnValuesToBeInSet(
                    column="是否办结", value_set=["已办结", "阶段性办结", "正在办理"]
                ),
            ],
        )
    )

    def validate(frame: pd.DataFrame) -> bool:
        return bool(whole.get_batch(batch_parameters={"dataframe": frame}).validate(suite).success)

    return validate


def validate(frame: pd.DataFrame, *, quiet: bool = False) -> bool:
    """The six expectations on the whole frame, their context set up for this call (as a
    script, or a task per day, does)."""
    return suite_runner(quiet=quiet)(frame)


def main(path: str, url: str) -> int:
    frame = pd.read_excel(path, header=1, engine="openpyxl", dtype=str)
    frame = frame[frame["受理编号"].notna()]
    valid = validate(frame)
    frame.to_sql("complaints", create_engine(url), index=False, if_exists="replace", chunksize=10_000)
    print(len(frame), "rows,", "valid" if valid else "invalid")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
