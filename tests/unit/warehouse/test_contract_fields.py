"""A penalty added to the contract flows through without code changes: the warehouse
column (typed by the field's kind), the load, and the published summary and penalty
table. Run in a process of its own: the schema is built from the contract on import."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from ducha.config_files import config_path

REPO = Path(__file__).resolve().parents[3]
EXTRA = "  compensation: {label: 生态损害赔偿金额, kind: money, aliases: [生态损害赔偿金额, 赔偿金额]}\n"

SCRIPT = """
import datetime as dt, json, sys
from pathlib import Path
root = Path(sys.argv[2])

from sqlalchemy import text
from ducha.config import data_dirs, get_inspection
from ducha.disclosure import tables as T
from ducha.pipeline import Ingestor
from ducha.warehouse import schema
from ducha.warehouse.db import upgrade
from tests.unit.intake.conftest import BATCH_DAY, HEADERS, HN, Sheet, case, closed_case, grid, write_xlsx

url = f"sqlite:///{root / 'w.sqlite'}"
with upgrade(url).begin() as conn:  # what the field's migration would add
    conn.execute(text("ALTER TABLE case_versions ADD COLUMN compensation NUMERIC(18, 6)"))
header = "生态损害赔偿金额（元）"
cases = [closed_case(1, **{header: "1.25"}), closed_case(2, **{header: 0.1}), case(3)]
dirs = data_dirs(root)
write_xlsx(dirs.landing / HN / BATCH_DAY.isoformat() / "第三批交办清单.xlsx",
           Sheet("第三批", grid(cases, headers=[*HEADERS, header])))
ingestor = Ingestor(dirs, url)
loaded = [f.status for f in ingestor.ingest_day(BATCH_DAY).files]
insp = get_inspection(HN)
with ingestor.engine.connect() as conn:
    states = T.case_states(conn, HN, BATCH_DAY)
sheet = T.penalty_sheet(states, insp, BATCH_DAY)
print(json.dumps({
    "column": repr(schema.case_versions.c.compensation.type),
    "state": list(schema.STATE_COLUMNS),
    "loaded": loaded,
    "stored": [str(v) for v in states["compensation"]],
    "paragraph": T.summary_paragraph(states, insp, BATCH_DAY),
    "penalty_table": dict(zip([c.header for c in sheet.columns], sheet.rows[0])),
}, ensure_ascii=False))
"""


def test_a_penalty_added_to_the_contract_is_stored_and_published(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    contract = config_path("contract.yaml").read_text(encoding="utf-8")
    anchor = next(line for line in contract.splitlines(keepends=True) if "accountable_persons:" in line)
    (config / "contract.yaml").write_text(contract.replace(anchor, anchor + EXTRA), encoding="utf-8")
    path = os.pathsep.join(
        [str(REPO / "include"), str(REPO / "tools"), str(REPO), os.environ.get("PYTHONPATH", "")]
    )
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(config), str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": path, "DUCHA_CONFIG_DIR": str(config)},
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["column"] == "Numeric(precision=18, scale=6)"
    assert out["state"][-2:] == ["accountable_persons", "compensation"]
    assert out["loaded"] == ["loaded"]
    assert out["stored"] == ["1.250000", "0.100000", "None"]
    assert out["paragraph"].endswith("罚款金额100000元，生态损害赔偿金额1.35元。")
    assert out["penalty_table"]["生态损害赔偿金额（元）"] == 1.35
