from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from ducha.config import (
    WarehouseConfigError,
    data_dirs,
    generic_profile,
    get_inspection,
    local_day,
    registry,
    warehouse_url,
)
from ducha.config_files import config_path


def test_registry_loads_the_sample_inspection() -> None:
    insp = registry()["c3-hn-2024"]
    assert insp.deadline_days == 10 and insp.fine_unit == "元" and insp.layout == "central11"
    assert insp.period_start == dt.date(2024, 6, 1) and insp.in_period(dt.date(2024, 6, 30))
    assert not insp.in_period(dt.date(2024, 8, 1))
    assert "辐射" in insp.pollution_types and "扬尘" not in insp.pollution_types


def test_generic_profile_accepts_every_contract_value() -> None:
    generic = generic_profile()
    assert {"扬尘", "群众身边的生态环境问题", "海洋", "水"} <= set(generic.pollution_types)
    assert set(generic.layouts) == {"standard9", "central11"}
    other = get_inspection("p-xx-2025")
    assert other.id == "p-xx-2025" and other.pollution_types == generic.pollution_types
    assert other.in_period(dt.date(1999, 1, 1))


@pytest.mark.parametrize(
    ("region", "city", "code"),
    [
        ("长沙市岳麓区", "长沙市", "430100"),
        ("岳麓区", "长沙市", "430100"),
        ("湘西土家族苗族自治州吉首市", "湘西土家族苗族自治州", "433100"),
        ("湘江新区", "长沙市", "430100"),  # a development zone, configured under its city
        ("湘西州吉首市", "湘西土家族苗族自治州", "433100"),  # a short form, from the division list
        ("浏阳", "长沙市", "430100"),
        ("蓝山县", "永州市", "431100"),  # a county the configuration leaves out
        ("江华县", "永州市", "431100"),  # 江华瑶族自治县, as clerks write it
        ("北京市朝阳区", "北京市朝阳区", None),  # another province: no place of this inspection
        ("不存在区", "不存在区", None),
    ],
)
def test_resolve_region(region: str, city: str, code: str | None) -> None:
    assert registry()["c3-hn-2024"].resolve_region(region) == (city, code)


def test_warehouse_url_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_DUCHA_WAREHOUSE", raising=False)
    monkeypatch.delenv("DUCHA_WAREHOUSE_URL", raising=False)
    monkeypatch.delenv("AIRFLOW_CTX_DAG_ID", raising=False)
    dirs = data_dirs(tmp_path)
    assert warehouse_url(dirs=dirs) == f"sqlite:///{tmp_path / 'warehouse.sqlite'}"
    monkeypatch.setenv("DUCHA_WAREHOUSE_URL", "sqlite:////x/y.sqlite")
    assert warehouse_url(dirs=dirs) == "sqlite:////x/y.sqlite"
    # The Airflow connection wins over the plain variable, spelled the Airflow way.
    monkeypatch.setenv("AIRFLOW_CONN_DUCHA_WAREHOUSE", "postgres://u:p@db:5432/ducha")
    assert warehouse_url(dirs=dirs) == "postgresql+psycopg://u:p@db:5432/ducha"
    assert warehouse_url("sqlite:///explicit.db", dirs) == "sqlite:///explicit.db"


def test_data_dirs_default_and_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DUCHA_DATA_DIR", str(tmp_path / "root"))
    data_dirs().ensure()
    for sub in ("landing", "archive", "quarantine", "outbox", "reports"):
        assert (tmp_path / "root" / sub).is_dir()
    monkeypatch.delenv("DUCHA_DATA_DIR")
    assert data_dirs().root == Path("data").resolve()


def test_local_day_is_shanghai() -> None:
    assert local_day(dt.datetime(2024, 6, 2, 16, 0, tzinfo=dt.UTC)) == dt.date(2024, 6, 3)
    assert local_day(dt.datetime(2024, 6, 2, 15, 59)) == dt.date(2024, 6, 2)  # naive = UTC


@pytest.fixture
def no_warehouse_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("AIRFLOW_CONN_DUCHA_WAREHOUSE", "DUCHA_WAREHOUSE_URL", "AIRFLOW_CTX_DAG_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("DUCHA_REQUIRE_WAREHOUSE_CONNECTION", raising=False)
    return monkeypatch


@pytest.mark.parametrize(
    "value",
    [
        "not a url",
        "mysql://u:secret@db/ducha",
        "http://u:secret@db:5432/ducha",
        '{"conn_type": "postgres", "host": ',  # cut short
        '{"host": "db"}',  # no conn_type
        '{"conn_type": "mysql", "host": "db", "password": "secret"}',
    ],
)
def test_unreadable_connection_is_an_error_not_a_fallback(
    no_warehouse_env: pytest.MonkeyPatch, tmp_path: Path, value: str
) -> None:
    no_warehouse_env.setenv("AIRFLOW_CONN_DUCHA_WAREHOUSE", value)
    no_warehouse_env.setenv("DUCHA_WAREHOUSE_URL", f"sqlite:///{tmp_path / 'other.sqlite'}")
    with pytest.raises(WarehouseConfigError, match="AIRFLOW_CONN_DUCHA_WAREHOUSE") as info:
        warehouse_url(dirs=data_dirs(tmp_path))
    assert "secret" not in str(info.value)  # the message may reach a log


def test_json_connection_is_read(no_warehouse_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    spec = {
        "conn_type": "postgres",
        "host": "db",
        "login": "u",
        "password": "p@ss",
        "port": 5433,
        "schema": "w",
    }
    no_warehouse_env.setenv("AIRFLOW_CONN_DUCHA_WAREHOUSE", json.dumps(spec))
    assert warehouse_url(dirs=data_dirs(tmp_path)) == "postgresql+psycopg://u:p%40ss@db:5433/w"
    no_warehouse_env.setenv(
        "AIRFLOW_CONN_DUCHA_WAREHOUSE", json.dumps({"conn_type": "sqlite", "host": "/x/w.db"})
    )
    assert warehouse_url(dirs=data_dirs(tmp_path)) == "sqlite:////x/w.db"


def test_required_connection_has_no_fallback(no_warehouse_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    no_warehouse_env.setenv("DUCHA_REQUIRE_WAREHOUSE_CONNECTION", "1")
    no_warehouse_env.setenv("DUCHA_WAREHOUSE_URL", f"sqlite:///{tmp_path / 'other.sqlite'}")
    with pytest.raises(WarehouseConfigError, match="DUCHA_REQUIRE_WAREHOUSE_CONNECTION"):
        warehouse_url(dirs=data_dirs(tmp_path))
    no_warehouse_env.setenv("AIRFLOW_CONN_DUCHA_WAREHOUSE", "postgres://u@db/w")
    assert warehouse_url(dirs=data_dirs(tmp_path)) == "postgresql+psycopg://u@db/w"


def test_publish_workers_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from ducha.config import publish_workers

    monkeypatch.delenv("DUCHA_PUBLISH_WORKERS", raising=False)
    assert 1 <= publish_workers() <= 4
    monkeypatch.setenv("DUCHA_PUBLISH_WORKERS", "3")
    assert publish_workers() == 3
    for bad in ("0", "-1", "two", "1.5"):
        monkeypatch.setenv("DUCHA_PUBLISH_WORKERS", bad)
        with pytest.raises(ValueError, match="DUCHA_PUBLISH_WORKERS"):
            publish_workers()


def test_a_city_may_keep_its_own_deadline() -> None:
    import yaml

    from ducha.config import _inspection_from_dict

    raw = yaml.safe_load((config_path("inspections") / "c3-hn-2024.yaml").read_text(encoding="utf-8"))
    raw["regions"][0]["deadline_days"] = 3  # 长沙市
    insp = _inspection_from_dict(raw)
    assert insp.deadline_for("长沙市") == insp.deadline_for("长沙市岳麓区") == 3  # a county: its city's
    assert insp.deadline_for("株洲市") == insp.deadline_for("不存在区") == 10  # the inspection's
    for bad in (0, -2, "3", True):
        raw["regions"][0]["deadline_days"] = bad
        with pytest.raises(ValueError, match="deadline_days"):
            _inspection_from_dict(raw)


# --- the configuration files: typed, checked, found where Ducha is installed ------------


def _config_copy(tmp_path: Path) -> Path:
    """A deployment's own configuration folder: a copy of the shipped one."""
    import shutil

    from ducha.config_files import PACKAGE_CONFIG_DIR

    own = tmp_path / "conf"
    shutil.copytree(PACKAGE_CONFIG_DIR, own)
    return own


def _edit(path: Path, change: Callable[[dict], None]) -> None:
    import yaml

    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(raw)
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")


def _load_all() -> None:
    from ducha.config import generic_profile, load_access, project_settings
    from ducha.contract import load_contract
    from ducha.layouts import layouts

    load_contract(), project_settings(), registry(), generic_profile(), layouts(), load_access()


@pytest.mark.parametrize(
    ("file", "change", "key", "problem"),
    [
        (
            "inspections/c3-hn-2024.yaml",
            lambda r: r["regions"][3].pop("name"),
            "regions[3].name",
            "field required",
        ),
        (
            "inspections/c3-hn-2024.yaml",
            lambda r: r["regions"][3].update(code=430400),
            "regions[3].code",
            "string",
        ),
        ("inspections/c3-hn-2024.yaml", lambda r: r.update(deadline_days="10"), "deadline_days", "integer"),
        ("inspections/c3-hn-2024.yaml", lambda r: r.update(deadlne_days=10), "deadlne_days", "unknown key"),
        (
            "inspections/c3-hn-2024.yaml",
            lambda r: r.update(conventions={"weekly_on": ["mon"]}),
            "conventions.weekly_on[0]",
            "monday",
        ),
        (
            "inspections/c3-hn-2024.yaml",
            lambda r: r["period"].update(end=dt.date(2024, 5, 1)),
            "period.end",
            "before the start",
        ),
        ("generic.yaml", lambda r: r.update(fine_unit="美元"), "fine_unit", "元"),
        (
            "ducha.yaml",
            lambda r: r["limits"].pop("header_search_rows"),
            "limits.header_search_rows",
            "field required",
        ),
        (
            "ducha.yaml",
            lambda r: r["alerts"].update(tables_by=1410),
            "alerts.tables_by",
            "string",
        ),  # 23:30 unquoted
        (
            "ducha.yaml",
            lambda r: r["conventions"].update(closure_counts=["办完了"]),
            "conventions.closure_counts",
            "statuses of the contract",
        ),
        ("ducha.yaml", lambda r: r.update(timezone="Asia/Beijing"), "timezone", "no time zone"),
        (
            "contract.yaml",
            lambda r: r["fields"]["case_id"].update(kind="identifier"),
            "fields.case_id.kind",
            "'int'",
        ),
        (
            "contract.yaml",
            lambda r: r["vocabularies"]["status"].update(values="已办结"),
            "vocabularies.status.values",
            "list",
        ),
        (
            "contract.yaml",
            lambda r: r["case_id"].update(pattern="^[DX"),
            "case_id.pattern",
            "regular expression",
        ),
        (
            "layouts.yaml",
            lambda r: r["layouts"]["central11"]["columns"][2].update(field="summery"),
            "layouts.central11.columns[2].field",
            "no field 'summery'",
        ),
        (
            "layouts.yaml",
            lambda r: r["layouts"]["standard9"]["columns"][0].update(align="middle"),
            "layouts.standard9.columns[0].align",
            "'center'",
        ),
        (
            "access.yaml",
            lambda r: r["roles"].update(viewer={"regions": "长沙市"}),
            "roles.viewer.regions",
            "a list of region names",
        ),
        ("access.yaml", lambda r: r["roles"]["op"].update(publisher="yes"), "roles.op.publisher", "boolean"),
        ("access.yaml", lambda r: r["roles"]["op"].update(region="*"), "roles.op.region", "unknown key"),
    ],
)
def test_a_bad_configuration_file_names_the_file_and_the_key(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    file: str,
    change: Callable[[dict], None],
    key: str,
    problem: str,
) -> None:
    from ducha.config_files import ConfigError

    own = _config_copy(tmp_path)
    _edit(own / file, change)
    monkeypatch.setenv("DUCHA_CONFIG_DIR", str(own))
    monkeypatch.delenv("DUCHA_ACCESS_FILE", raising=False)
    with pytest.raises(ConfigError) as info:
        _load_all()
    first = str(info.value).splitlines()[0]
    assert first.startswith(f"{own / file}: {key}: "), str(info.value)
    assert problem in first, first


def test_a_deployments_own_folder_replaces_the_shipped_files_it_has(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DUCHA_CONFIG_DIR: its inspections replace the shipped ones (the sample is not among
    them); a file it lacks (contract.yaml here) is the package's."""
    from ducha.contract import load_contract

    own = tmp_path / "conf"
    (own / "inspections").mkdir(parents=True)
    shipped = (config_path("inspections") / "c3-hn-2024.yaml").read_text(encoding="utf-8")
    (own / "inspections" / "p-gx-2025.yaml").write_text(
        shipped.replace("id: c3-hn-2024", "id: p-gx-2025").replace("deadline_days: 10", "deadline_days: 7"),
        encoding="utf-8",
    )
    (own / "access.yaml").write_text("users: {zhang: {regions: '*', publisher: true}}\n", encoding="utf-8")
    monkeypatch.setenv("DUCHA_CONFIG_DIR", str(own))
    monkeypatch.delenv("DUCHA_ACCESS_FILE", raising=False)
    from ducha.config import load_access

    assert list(registry()) == ["p-gx-2025"] and registry()["p-gx-2025"].deadline_days == 7
    assert get_inspection("c3-hn-2024").name.endswith("（未登记督察，通用配置）")
    assert list(load_access().users) == ["zhang"] and not load_access().roles
    assert load_contract().fields["case_id"].label == "受理编号"
    monkeypatch.delenv("DUCHA_CONFIG_DIR")
    assert list(registry()) == ["c3-hn-2024"]  # the shipped configuration again
