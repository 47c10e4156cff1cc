"""Settings, data folders and the inspections registry (YAML under include/config/)."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from ducha.contract import CONFIG_DIR, load_contract

GENERIC_ID = "generic"


@dataclass(frozen=True)
class Region:
    name: str
    code: str | None
    counties: tuple[str, ...] = ()


@dataclass(frozen=True)
class Inspection:
    id: str
    name: str
    level: str
    province: str | None
    province_code: str | None
    round: int | None
    period_start: dt.date | None
    period_end: dt.date | None
    deadline_days: int
    fine_unit: str  # "元" or "万元": the unit fines are stored and published in
    pollution_types: tuple[str, ...]
    layouts: tuple[str, ...]
    regions: tuple[Region, ...] = field(default=())

    @property
    def is_generic(self) -> bool:
        return self.id == GENERIC_ID

    @property
    def layout(self) -> str:
        return self.layouts[0]

    def in_period(self, day: dt.date) -> bool:
        if self.period_start is None or self.period_end is None:
            return True
        return self.period_start <= day <= self.period_end

    def year_hint(self) -> int | None:
        return self.period_start.year if self.period_start else None

    def resolve_region(self, region: str) -> tuple[str, str | None]:
        """(the city a region belongs to, its GB/T 2260 code) — "长沙市岳麓区" -> ("长沙市", "430100").

        A region of no configured city (a development zone, or the generic profile) is
        its own group, with no code.
        """
        for r in self.regions:
            if region.startswith(r.name) or any(region.startswith(c) for c in r.counties):
                return r.name, r.code
        return region, None


def _inspection_from_dict(raw: dict) -> Inspection:
    contract = load_contract()
    period = raw.get("period") or {}
    types = raw.get("pollution_types") or contract.vocabularies["pollution_types"].values
    if raw.get("fine_unit") not in ("元", "万元"):
        raise ValueError(f"inspection {raw.get('id')}: fine_unit must be 元 or 万元")
    return Inspection(
        id=str(raw["id"]),
        name=str(raw["name"]),
        level=str(raw.get("level", "unknown")),
        province=raw.get("province"),
        province_code=raw.get("province_code"),
        round=raw.get("round"),
        period_start=period.get("start"),
        period_end=period.get("end"),
        deadline_days=int(raw["deadline_days"]),
        fine_unit=raw["fine_unit"],
        pollution_types=tuple(types),
        layouts=tuple(raw.get("layouts") or ("standard9",)),
        regions=tuple(
            Region(r["name"], r.get("code"), tuple(r.get("counties", ()))) for r in raw.get("regions", ())
        ),
    )


@cache
def registry(config_dir: Path = CONFIG_DIR) -> dict[str, Inspection]:
    """Every configured inspection, by id. The generic profile is not in it."""
    out: dict[str, Inspection] = {}
    for path in sorted((config_dir / "inspections").glob("*.yaml")):
        insp = _inspection_from_dict(yaml.safe_load(path.read_text(encoding="utf-8")))
        if insp.id != path.stem:
            raise ValueError(f"{path}: id {insp.id!r} must match the file name")
        out[insp.id] = insp
    return out


@cache
def generic_profile(config_dir: Path = CONFIG_DIR) -> Inspection:
    return _inspection_from_dict(yaml.safe_load((config_dir / "generic.yaml").read_text(encoding="utf-8")))


def get_inspection(inspection_id: str | None) -> Inspection:
    """The configured inspection, or the generic profile (keeping the given id)."""
    if inspection_id and inspection_id in registry():
        return registry()[inspection_id]
    generic = generic_profile()
    if not inspection_id:
        return generic
    return replace(generic, id=inspection_id, name=f"{inspection_id}（未登记督察，通用配置）")


@cache
def project_settings(config_dir: Path = CONFIG_DIR) -> dict:
    return yaml.safe_load((config_dir / "ducha.yaml").read_text(encoding="utf-8"))


def timezone() -> ZoneInfo:
    return ZoneInfo(project_settings()["timezone"])


def limit(name: str) -> int:
    return int(project_settings()["limits"][name])


# --- data folders -----------------------------------------------------------------


@dataclass(frozen=True)
class DataDirs:
    root: Path

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    @property
    def archive(self) -> Path:
        return self.root / "archive"

    @property
    def quarantine(self) -> Path:
        return self.root / "quarantine"

    @property
    def outbox(self) -> Path:
        return self.root / "outbox"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def warehouse_file(self) -> Path:
        return self.root / "warehouse.sqlite"

    def ensure(self) -> DataDirs:
        for p in (self.landing, self.archive, self.quarantine, self.outbox, self.reports):
            p.mkdir(parents=True, exist_ok=True)
        return self


def data_dirs(root: str | os.PathLike[str] | None = None) -> DataDirs:
    return DataDirs(Path(root or os.environ.get("DUCHA_DATA_DIR") or "data").resolve())


def warehouse_url(explicit: str | None = None, dirs: DataDirs | None = None) -> str:
    """Explicit URL, else the Airflow connection ``ducha_warehouse``, else
    ``DUCHA_WAREHOUSE_URL``, else the embedded SQLite file under the data root."""
    if explicit:
        return explicit
    url = _airflow_connection_url("ducha_warehouse")
    if url:
        return url
    if os.environ.get("DUCHA_WAREHOUSE_URL"):
        return os.environ["DUCHA_WAREHOUSE_URL"]
    return f"sqlite:///{(dirs or data_dirs()).warehouse_file}"


def _airflow_connection_url(conn_id: str) -> str | None:
    env = os.environ.get("AIRFLOW_CONN_" + conn_id.upper())
    if env and "://" in env:
        return _sqlalchemy_url(env)
    # Ask Airflow only inside a running task (the task runner sets AIRFLOW_CTX_*): outside
    # one, importing Airflow costs seconds, finds nothing and logs to stdout.
    if "AIRFLOW_CTX_DAG_ID" not in os.environ:
        return None
    try:
        from airflow.sdk import BaseHook

        return _sqlalchemy_url(BaseHook.get_connection(conn_id).get_uri())
    except Exception:  # no such connection, or not inside a task: fall back
        return None


def _sqlalchemy_url(uri: str) -> str:
    # Airflow spells PostgreSQL "postgres://"; SQLAlchemy wants a dialect+driver.
    for prefix in ("postgres://", "postgresql://"):
        if uri.startswith(prefix):
            return "postgresql+psycopg://" + uri[len(prefix) :]
    return uri


def local_day(moment: dt.datetime) -> dt.date:
    """The landing day of an instant, in the project's timezone."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(timezone()).date()
