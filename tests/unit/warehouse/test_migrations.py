"""The migrations build exactly the schema the code declares, on SQLite and PostgreSQL,
and two processes upgrading at once do not trip over each other."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select, text

from ducha.warehouse.db import _alembic_config, current_revision, engine, upgrade
from ducha.warehouse.schema import case_versions, metadata

HEAD = "0011"
VIEWS = {"v_case_latest", "v_ledger_assigned", "v_ledger_in_progress", "v_ledger_closed"}
LATEST_COLUMNS = [
    "case_id",
    "inspection_id",
    "batch_no",
    "transferred_on",
    "region",
    "region_code",
    "pollution_types",
    "summary",
    "findings",
    "verified",
    "target",
    "handling",
    "status",
    "accountability",
    "key_case",
    "duplicate_of",
    "due_on",
    "reported_on",
    "closed_on",
]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'w.sqlite'}"
    return request.getfixturevalue("postgres_url")


def test_upgrade_builds_the_declared_schema(url: str) -> None:
    eng = upgrade(url)
    assert current_revision(url) == HEAD
    with eng.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == [], f"schema.py and the migrations disagree: {diff}"
    assert set(inspect(eng).get_view_names()) >= VIEWS


def test_upgrade_is_idempotent_and_downgrade_round_trips(url: str) -> None:
    eng = upgrade(url)
    upgrade(url)
    with eng.connect() as conn:
        command.downgrade(_alembic_config(conn), "base")
        conn.commit()
    assert not set(inspect(engine(url)).get_table_names()) - {"alembic_version"}
    upgrade(url)
    assert {"cases", "case_versions"} <= set(inspect(engine(url)).get_table_names())


def test_concurrent_upgrades(url: str) -> None:
    code = "import sys; from ducha.warehouse.db import upgrade; upgrade(sys.argv[1])"
    procs = [
        subprocess.Popen([sys.executable, "-c", code, url], stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], errors
    assert current_revision(url) == HEAD


def test_0003_versions_the_facts_of_a_0002_warehouse(url: str, tmp_path: Path) -> None:
    """A warehouse of the previous revision: after the upgrade its versions carry the facts
    of their cases, each hash is what a load computes now (so the same state reported again
    adds no version), and each batch date is dated from the day it was first reported."""
    from ducha.config import data_dirs
    from ducha.pipeline import Ingestor
    from ducha_sample import generate

    days = [dt.date(2024, 6, 1) + dt.timedelta(days=i) for i in range(4)]  # day 4 updates cases
    generate(tmp_path / "landing", "c3-hn-2024", days=len(days), seed=3, progress=False)
    ingestor = Ingestor(data_dirs(tmp_path), url)
    for day in days:
        ingestor.ingest_day(day)
    facts = "case_id, version_no, region, region_code, pollution_types, key_case, seq, state_hash"
    query = f"SELECT {facts} FROM case_versions ORDER BY case_id, version_no"
    dated = "SELECT batch_no, dated_on FROM batches ORDER BY batch_no"
    eng = engine(url)
    with eng.connect() as conn:
        expected, expected_dated = conn.execute(text(query)).all(), conn.execute(text(dated)).all()
        command.downgrade(_alembic_config(conn), "0002")
        # 0002 hashed the state without the facts: whatever it stored is recomputed.
        conn.execute(text("UPDATE case_versions SET state_hash = 'from-0002'"))
        conn.commit()
    assert current_revision(url) == "0002"
    assert len(expected) > len({r.case_id for r in expected}) > 0  # some cases have two versions
    upgrade(url)
    with eng.connect() as conn:
        assert conn.execute(text(query)).all() == expected
        assert conn.execute(text(dated)).all() == expected_dated
    assert {f.status for day in days for f in ingestor.ingest_day(day).files} == {"skipped"}


def test_0004_keeps_the_latest_version_as_0003_ranked_it(url: str, tmp_path: Path) -> None:
    """case_latest, filled by the upgrade from a 0003 warehouse and kept by the load
    afterwards, gives v_case_latest exactly the rows 0003's window function gave. The
    days load out of order (a backfill), so "latest" is by as-of day, not by load."""
    from ducha.config import data_dirs
    from ducha.pipeline import Ingestor
    from ducha_sample import generate

    days = [dt.date(2024, 6, 1) + dt.timedelta(days=i) for i in range(5)]
    generate(tmp_path / "landing", "c3-hn-2024", days=len(days), seed=5, progress=False)
    ingestor = Ingestor(data_dirs(tmp_path), url)
    for day in [days[0], days[1], days[4], days[2]]:
        ingestor.ingest_day(day)
    # Every column but the last (0003/0004's overdue, 0005's closed_late).
    latest = f"SELECT {', '.join(LATEST_COLUMNS)} FROM v_case_latest ORDER BY inspection_id, case_id"
    eng = engine(url)
    with eng.connect() as conn:
        kept = conn.execute(text(latest)).all()
        command.downgrade(_alembic_config(conn), "0003")
        conn.commit()
        ranked = conn.execute(text(latest)).all()  # 0003's view: a window over the versions
    assert kept == ranked and len(kept) > 0
    assert any(r.closed_on for r in kept) and any(r.reported_on != days[0] for r in kept)
    upgrade(url)
    with eng.connect() as conn:
        assert conn.execute(text(latest)).all() == ranked  # filled by the upgrade
    ingestor.ingest_day(days[3])  # the day the backfill skipped, now after the later ones
    with eng.connect() as conn:
        kept = conn.execute(text(latest)).all()
        command.downgrade(_alembic_config(conn), "0003")
        conn.commit()
        assert kept == conn.execute(text(latest)).all()
    upgrade(url)


def test_0005_the_latest_state_view_does_not_read_the_database_clock(url: str, tmp_path: Path) -> None:
    """0004's overdue compared with CURRENT_DATE (the server's date, in its time zone);
    0005 keeps closed_late, which the rows alone decide, and downgrades back."""
    from ducha.config import data_dirs
    from ducha.pipeline import Ingestor
    from ducha_sample import generate

    generate(tmp_path / "landing", "c3-hn-2024", days=4, seed=5, progress=False)
    ingestor = Ingestor(data_dirs(tmp_path), url)
    for day in range(1, 5):
        ingestor.ingest_day(dt.date(2024, 6, day))
    eng = engine(url)
    with eng.connect() as conn:
        if conn.dialect.name == "postgresql":
            sql = conn.execute(
                text("SELECT definition FROM pg_views WHERE viewname = 'v_case_latest'")
            ).scalar()
        else:
            sql = conn.execute(text("SELECT sql FROM sqlite_master WHERE name = 'v_case_latest'")).scalar()
        assert not any(clock in sql.upper() for clock in ("CURRENT_DATE", "NOW(", "CURRENT_TIMESTAMP"))
        rows = conn.execute(text("SELECT status, due_on, closed_on, closed_late FROM v_case_latest")).all()
        closed = [r for r in rows if r.status in ("已办结", "验收销号")]
        assert closed and all(r.closed_late is None for r in rows if r not in closed)
        assert all(bool(r.closed_late) == (r.closed_on > r.due_on) for r in closed if r.due_on)
        command.downgrade(_alembic_config(conn), "0004")
        conn.commit()
        assert "overdue" in {c["name"] for c in inspect(conn).get_columns("v_case_latest")}
    upgrade(url)
    assert current_revision(url) == HEAD


def test_0009_0010_drop_case_types_and_keep_money_as_decimal(url: str, tmp_path: Path) -> None:
    """After the upgrade case_types is gone (nothing read it) and fines are NUMERIC, read
    back as Decimal with the values they had as floats; the downgrade rebuilds case_types
    from each case's latest version and turns the fines back into floats."""
    from ducha.config import data_dirs
    from ducha.pipeline import Ingestor
    from ducha_sample import generate

    days = [dt.date(2024, 6, 1) + dt.timedelta(days=i) for i in range(4)]
    generate(tmp_path / "landing", "c3-hn-2024", days=len(days), seed=3, progress=False)
    ingestor = Ingestor(data_dirs(tmp_path), url)
    for day in days:
        ingestor.ingest_day(day)
    v = case_versions
    typed = select(v.c.case_id, v.c.version_no, v.c.fine_amount).order_by(v.c.case_id, v.c.version_no)
    eng = engine(url)
    assert "case_types" not in inspect(eng).get_table_names()
    with eng.connect() as conn:
        # Amounts with fen that a binary float cannot hold exactly.
        (case_id,) = conn.execute(text("SELECT MIN(case_id) FROM case_versions")).one()
        conn.execute(
            text("UPDATE case_versions SET fine_amount = 251542.71 WHERE case_id = :c"), {"c": case_id}
        )
        conn.execute(text("UPDATE case_versions SET fine_amount = 0.1 WHERE case_id > :c"), {"c": case_id})
        stored = conn.execute(typed).all()
        latest_types = dict(conn.execute(text("SELECT case_id, pollution_types FROM v_case_latest")).all())
        command.downgrade(_alembic_config(conn), "0008")
        conn.commit()
        as_floats = conn.execute(text("SELECT case_id, version_no, fine_amount FROM case_versions")).all()
        types = conn.execute(text("SELECT case_id, pollution_type FROM case_types")).all()
    fines = [f for _, _, f in stored if f]
    assert fines and all(isinstance(f, Decimal) and f == f.quantize(Decimal("0.01")) for f in fines)
    assert Decimal("251542.71") in fines and Decimal("0.1") in fines
    assert sorted((c, n, None if f is None else Decimal(str(f))) for c, n, f in as_floats) == stored
    assert sorted(types) == sorted((c, t) for c, joined in latest_types.items() for t in joined.split("、"))
    upgrade(url)
    with eng.connect() as conn:
        assert conn.execute(typed).all() == stored
    assert "case_types" not in inspect(eng).get_table_names()


def test_0011_keeps_the_latest_version_on_the_case(url: str, tmp_path: Path) -> None:
    """The latest version and closing day live on the case (0011): the downgrade builds
    0010's case_latest from them and the upgrade fills them back from it, the views giving
    the same rows at each step; after a backfilled day (loaded after later ones) the
    columns the load keeps still give v_case_latest the rows 0003's window over every
    version gives."""
    from ducha.config import data_dirs
    from ducha.pipeline import Ingestor
    from ducha_sample import generate

    days = [dt.date(2024, 6, 1) + dt.timedelta(days=i) for i in range(5)]
    generate(tmp_path / "landing", "c3-hn-2024", days=len(days), seed=5, progress=False)
    ingestor = Ingestor(data_dirs(tmp_path), url)
    for day in [days[0], days[1], days[4]]:  # day 5's run takes days 3 and 4's files too
        ingestor.ingest_day(day)
    views = ("v_case_latest", "v_ledger_in_progress", "v_ledger_closed")
    read = {name: f"SELECT * FROM {name} ORDER BY inspection_id, case_id" for name in views}
    eng = engine(url)
    with eng.connect() as conn:
        before = {name: conn.execute(text(sql)).all() for name, sql in read.items()}
        command.downgrade(_alembic_config(conn), "0010")
        conn.commit()
        assert {name: conn.execute(text(sql)).all() for name, sql in read.items()} == before
        table = conn.execute(text("SELECT count(*), max(version_no) FROM case_latest")).one()
    assert table == (len(before["v_case_latest"]), 2)
    assert any(r.closed_on for r in before["v_case_latest"])
    upgrade(url)
    assert "case_latest" not in inspect(eng).get_table_names()
    with eng.connect() as conn:
        assert {name: conn.execute(text(sql)).all() for name, sql in read.items()} == before
    ingestor.ingest_day(days[3])  # a day's run after the later day's (its files came with it)
    latest = f"SELECT {', '.join(LATEST_COLUMNS)} FROM v_case_latest ORDER BY inspection_id, case_id"
    with eng.connect() as conn:
        kept = conn.execute(text(latest)).all()
        command.downgrade(_alembic_config(conn), "0003")
        conn.commit()
        assert kept == conn.execute(text(latest)).all()
    upgrade(url)
    assert current_revision(url) == HEAD


def test_old_migrations_keep_the_values_they_were_written_with(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A migration builds what it built when written, whatever the contract says today:
    0001 and 0002 carry the closed statuses of their day, and no migration reads the
    contract or the schema module."""
    import ducha.contract as C
    from ducha.config_files import config_path

    versions = Path(C.__file__).parent / "warehouse" / "migrations" / "versions"
    for path in versions.glob("0*.py"):
        source = path.read_text(encoding="utf-8")
        for line in source.splitlines():
            if "ducha." in line and ("import" in line or "from " in line):
                assert "ducha.warehouse.migrations.versions." in line, f"{path.name}: {line}"
    changed = config_path("contract.yaml").read_text(encoding="utf-8").replace("验收销号", "销号完成")
    (tmp_path / "contract.yaml").write_text(changed, encoding="utf-8")
    monkeypatch.setenv("DUCHA_CONFIG_DIR", str(tmp_path))
    assert "销号完成" in C.load_contract().closed_statuses
    url = f"sqlite:///{tmp_path / 'w.sqlite'}"
    for revision in ("0001", "0002"):
        with engine(url).connect() as conn:
            command.upgrade(_alembic_config(conn), revision)
            conn.commit()
            sql = conn.execute(text("SELECT sql FROM sqlite_master WHERE name = 'v_ledger_closed'")).scalar()
        assert "'已办结', '验收销号'" in sql and "销号完成" not in sql, revision
