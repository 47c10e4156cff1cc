"""Settings, data folders, the inspections registry and the access mapping: the YAML of
the configuration (ducha/conf/, or DUCHA_CONFIG_DIR: ducha.config_files), each file
checked by a typed model before the objects the code uses are built from it."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import cache, lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field as Spec
from pydantic import NonNegativeInt, PositiveFloat, PositiveInt, ValidationInfo, field_validator

from ducha.config_files import ConfigError, ConfigModel, config_path, load_yaml, read_config, validate_config
from ducha.contract import load_contract
from ducha.paths import check_inspection_id

# Where cases of a region found nowhere are counted and published (REGION_UNKNOWN).
UNKNOWN_CITY = "未识别地区"


@dataclass(frozen=True)
class Region:
    name: str
    code: str | None
    counties: tuple[str, ...] = ()
    deadline_days: int | None = None  # a city's own, stricter deadline (some set 3 days)
    feedback_days: int | None = None  # a city's own feedback deadline (按时办结)
    zones: tuple[str, ...] = ()  # development zones counted with the city (长沙经开区, 湘江新区)


@dataclass(frozen=True)
class Conventions:
    """How the publishing office counts and words its statistics (ducha.yaml
    `conventions`, overridden key by key by the inspection's own block)."""

    closure_counts: tuple[str, ...]
    feedback_days: int
    scope_word: str | None
    fine_unit: str | None
    open_label: str
    key_cases_sentence: bool
    verified_of_closed: bool
    weekly_on: tuple[int, ...]  # weekdays (Monday 0) the weekly report is written; all 7: every day
    batch_tables: str = "on_arrival"  # on_arrival | with_results | when_complete
    complete_percent: int = 100
    update_wording: str = "（更新）"
    batch_note: str = ""  # the note row under a batch table ({batch}: 第N批)
    pending_rows: str = "publish"  # publish | hold: a batch with rows awaiting correction


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
    conventions: Conventions = field(default_factory=lambda: conventions_from(project_settings().conventions))

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

        The configured cities, counties and development zones first; then the national
        division list within the inspection's province, with its short forms (湘西州,
        浏阳, a county the configuration leaves out). A region found nowhere (or any
        region of the generic profile) is its own group, with no code.
        """
        return _resolve_region(self.regions, region)

    def in_region_order(self, names: Iterable[str]) -> list[str]:
        """Cities in the configured order (as offices list them), any other name after
        them by its text."""
        order: dict[str, int] = {}
        for n, r in enumerate(self.regions):
            order.setdefault(r.name, n)
        return sorted(names, key=lambda c: (order.get(c, len(order)), c))

    def city_of(self, region: str) -> str:
        """The group a region is counted and published under: its city; for a name found
        nowhere, one group, UNKNOWN_CITY (it is warned about at intake), not a table of
        its own. Without configured cities (the generic profile), the region itself."""
        city, code = _resolve_region(self.regions, region)
        return city if code is not None or not self.regions else UNKNOWN_CITY

    def knows_region(self, region: str) -> bool:
        """Does the region name a place of the inspection's province? Always, for an
        inspection without configured cities (nothing to check against)."""
        return not self.regions or _resolve_region(self.regions, region)[1] is not None

    def deadline_for(self, region: str) -> int:
        """Days a case of ``region`` has from its transfer: its city's own deadline where
        the city set one, else the inspection's."""
        own = self._city_region(region)
        return self.deadline_days if own is None or own.deadline_days is None else own.deadline_days

    def feedback_days_for(self, region: str) -> int:
        """Days a case of ``region`` has to be closed to count as 按时办结: its city's own
        feedback deadline where the city set one, else the convention's."""
        own = self._city_region(region)
        if own is None or own.feedback_days is None:
            return self.conventions.feedback_days
        return own.feedback_days

    def _city_region(self, region: str) -> Region | None:
        """The configured city a region belongs to (its own deadlines), if any."""
        city, _ = self.resolve_region(region)
        return next((r for r in self.regions if r.name == city), None)

    @property
    def scope_word(self) -> str:
        return self.conventions.scope_word or ("全省" if self.province else "全域")

    @property
    def published_fine_unit(self) -> str:
        return self.conventions.fine_unit or self.fine_unit

    def weekly_due(self, day: dt.date) -> bool:
        """Is the weekly report written with ``day``'s tables: a day of the convention's
        week, or the inspection's last day."""
        return day.weekday() in self.conventions.weekly_on or day == self.period_end


@lru_cache(maxsize=8192)  # a few hundred regions, asked for once per case and table
def _resolve_region(regions: tuple[Region, ...], region: str) -> tuple[str, str | None]:
    for r in regions:
        if region.startswith(r.name) or any(region.startswith(c) for c in (*r.counties, *r.zones)):
            return r.name, r.code
    prefixes = {r.code[:2] for r in regions if r.code}
    if len(prefixes) == 1:  # one province: its national list
        from ducha.regions import city_code_of, divisions

        code = city_code_of(region, next(iter(prefixes)))
        if code is not None:
            name = next((r.name for r in regions if r.code == code), divisions()[code])
            return name, code
    return region, None


BatchTables = Literal["on_arrival", "with_results", "when_complete"]
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
WEEKDAYS: tuple[str, ...] = get_args(Weekday)

Days = Annotated[int, Spec(ge=1)]  # a whole number of days, at least one
FineUnit = Literal["元", "万元"]


# --- the models of the files ---------------------------------------------------------


class ParagraphSpec(ConfigModel):
    key_cases: bool = False
    verified_of_closed: bool = False


class ConventionsSpec(ConfigModel):
    """ducha.yaml ``conventions`` (every key), or an inspection's own keys over it."""

    closure_counts: list[str] = Spec(min_length=1)
    feedback_days: Days
    scope_word: str | None
    fine_unit: FineUnit | None
    open_label: str
    batch_tables: BatchTables
    complete_percent: Annotated[int, Spec(ge=1, le=100)]
    update_wording: str
    pending_rows: Literal["publish", "hold"]
    batch_note: str | None
    weekly_on: list[Literal[Weekday, "every_day"]] = Spec(min_length=1)
    paragraph: ParagraphSpec

    @field_validator("closure_counts")
    @classmethod
    def _statuses_of_the_contract(cls, closure: list[str]) -> list[str]:
        statuses = load_contract().vocabularies["status"].values
        if set(closure) - set(statuses):
            raise ValueError(f"statuses of the contract only ({'、'.join(statuses)})")
        return closure

    @field_validator("weekly_on")
    @classmethod
    def _every_day_alone(cls, days: list[str]) -> list[str]:
        if "every_day" in days and len(days) > 1:
            raise ValueError("[every_day], or days of the week")
        return days


class RegionSpec(ConfigModel):
    name: str = Spec(min_length=1)
    code: str | None = Spec(default=None, pattern=r"^\d{6}$")  # GB/T 2260
    counties: list[str] = Spec(default_factory=list)
    deadline_days: Days | None = None
    feedback_days: Days | None = None
    zones: list[str] = Spec(default_factory=list)


class PeriodSpec(ConfigModel):
    start: dt.date
    end: dt.date

    @field_validator("end")
    @classmethod
    def _not_before_start(cls, end: dt.date, info: ValidationInfo) -> dt.date:
        start = info.data.get("start")
        if start is not None and end < start:
            raise ValueError(f"before the start ({start})")
        return end


class InspectionFile(ConfigModel):
    """An inspection's file (inspections/<id>.yaml), or generic.yaml; ``conventions``
    holds the project's with the file's own keys over them (see :func:`inspection_spec`)."""

    id: str
    name: str
    level: str = "unknown"
    province: str | None = None
    province_code: str | None = None
    round: PositiveInt | None = None
    period: PeriodSpec | None = None
    deadline_days: Days
    fine_unit: FineUnit
    pollution_types: list[str] | None = None  # None: every value of the contract
    layouts: list[str] = Spec(default=["standard9"], min_length=1)
    regions: list[RegionSpec] = Spec(default_factory=list)
    conventions: ConventionsSpec


class LimitsSpec(ConfigModel):
    max_file_bytes: PositiveInt
    max_uncompressed_bytes: PositiveInt
    header_search_rows: PositiveInt


class TasksSpec(ConfigModel):
    retries: NonNegativeInt
    retry_delay_minutes: PositiveFloat


class NotificationsSpec(ConfigModel):
    to: list[str] = Spec(default_factory=list)


class AlertsSpec(ConfigModel):
    tables_by: str = Spec(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")  # "23:30", quoted in YAML


class SignoffSpec(ConfigModel):
    wait_days: Days = 14
    settle_seconds: Annotated[int, Spec(ge=0, le=300)] = 10


class PickupSpec(ConfigModel):
    every_minutes: Annotated[int, Spec(ge=1, le=59)]
    settle_seconds: NonNegativeInt


class PrintSpec(ConfigModel):
    font: str
    title_font: str
    min_points: PositiveFloat
    paper: Literal["auto", "A4", "A3"]


class ProjectSettings(ConfigModel):
    """ducha.yaml."""

    timezone: str
    limits: LimitsSpec
    tasks: TasksSpec
    notifications: NotificationsSpec = NotificationsSpec()
    alerts: AlertsSpec
    signoff: SignoffSpec = SignoffSpec()
    pickup: PickupSpec
    conventions: ConventionsSpec
    print: PrintSpec

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"no time zone {name!r}") from None
        return name


# --- the objects built from them ----------------------------------------------------


def conventions_from(spec: ConventionsSpec) -> Conventions:
    weekly = WEEKDAYS if spec.weekly_on == ["every_day"] else spec.weekly_on
    return Conventions(
        closure_counts=tuple(spec.closure_counts),
        feedback_days=spec.feedback_days,
        scope_word=spec.scope_word,
        fine_unit=spec.fine_unit,
        open_label=spec.open_label,
        key_cases_sentence=spec.paragraph.key_cases,
        verified_of_closed=spec.paragraph.verified_of_closed,
        weekly_on=tuple(sorted(WEEKDAYS.index(d) for d in set(weekly))),
        batch_tables=spec.batch_tables,
        complete_percent=spec.complete_percent,
        update_wording=spec.update_wording,
        batch_note=spec.batch_note or "",
        pending_rows=spec.pending_rows,
    )


def _with_project_conventions(raw: object) -> object:
    """An inspection file's content with the project's conventions under its own (key
    by key, ``paragraph`` too), so that the merged block is checked as one."""
    if not isinstance(raw, dict):
        return raw
    base = project_settings().conventions.model_dump()
    own = raw.get("conventions") or {}
    if not isinstance(own, dict):
        return raw
    paragraph = own.get("paragraph") or {}
    if isinstance(paragraph, dict):
        paragraph = base["paragraph"] | paragraph
    return {**raw, "conventions": base | own | {"paragraph": paragraph}}


def _inspection_from_dict(raw: Any, source: Path | str = "inspection") -> Inspection:
    spec = validate_config(_with_project_conventions(raw), InspectionFile, source)
    types = spec.pollution_types or load_contract().vocabularies["pollution_types"].values
    return Inspection(
        id=spec.id,
        name=spec.name,
        level=spec.level,
        province=spec.province,
        province_code=spec.province_code,
        round=spec.round,
        period_start=spec.period.start if spec.period else None,
        period_end=spec.period.end if spec.period else None,
        deadline_days=spec.deadline_days,
        fine_unit=spec.fine_unit,
        pollution_types=tuple(types),
        layouts=tuple(spec.layouts),
        regions=tuple(
            Region(
                r.name,
                r.code,
                tuple(r.counties),
                r.deadline_days,
                r.feedback_days,
                tuple(r.zones),
            )
            for r in spec.regions
        ),
        conventions=conventions_from(spec.conventions),
    )


def _read_inspection(path: Path) -> Inspection:
    return _inspection_from_dict(load_yaml(path), path)


def registry() -> dict[str, Inspection]:
    """Every configured inspection, by id. The generic profile is not in it."""
    return _registry(config_path("inspections"))


@cache
def _registry(folder: Path) -> dict[str, Inspection]:
    out: dict[str, Inspection] = {}
    for path in sorted(folder.glob("*.yaml")):
        insp = _read_inspection(path)
        if insp.id != path.stem:
            raise ConfigError(f"{path}: id: {insp.id!r} must match the file name")
        check_inspection_id(insp.id)
        out[insp.id] = insp
    return out


def generic_profile() -> Inspection:
    return _generic(config_path("generic.yaml"))


@cache
def _generic(path: Path) -> Inspection:
    return _read_inspection(path)


def get_inspection(inspection_id: str | None) -> Inspection:
    """The configured inspection, or the generic profile (keeping the given id, which
    must be a valid id: it names folders)."""
    if inspection_id:
        check_inspection_id(inspection_id)
    if inspection_id and inspection_id in registry():
        return registry()[inspection_id]
    generic = generic_profile()
    if not inspection_id:
        return generic
    return replace(generic, id=inspection_id, name=f"{inspection_id}（未登记督察，通用配置）")


def project_settings() -> ProjectSettings:
    """ducha.yaml, checked."""
    return _settings(config_path("ducha.yaml"))


@cache
def _settings(path: Path) -> ProjectSettings:
    return read_config(path, ProjectSettings)


def timezone() -> ZoneInfo:
    return ZoneInfo(project_settings().timezone)


def limit(name: str) -> int:
    return int(getattr(project_settings().limits, name))


# --- who sees what (access.yaml) -------------------------------------------------------

ALL_REGIONS = "*"


class AccessEntry(ConfigModel):
    """One user's or role's entry: the whole province ("*") or some regions, and
    whether they may sign a day's tables off."""

    regions: Literal["*"] | list[Annotated[str, Spec(min_length=1)]]
    publisher: bool = False

    @field_validator("regions", mode="before")
    @classmethod
    def _all_or_names(cls, regions: object) -> object:
        if regions == ALL_REGIONS:
            return regions
        if not isinstance(regions, list) or not all(isinstance(r, str) and r.strip() for r in regions):
            raise ValueError('"*" or a list of region names')
        return [r.strip() for r in regions]


class AccessMap(ConfigModel):
    """access.yaml: entries by Airflow user name, and by Airflow role."""

    users: dict[str, AccessEntry] = Spec(default_factory=dict)
    roles: dict[str, AccessEntry] = Spec(default_factory=dict)

    @field_validator("users", "roles", mode="before")
    @classmethod
    def _empty_is_none(cls, entries: object) -> object:
        return {} if entries is None else entries


def access_file() -> Path:
    """DUCHA_ACCESS_FILE, else the configuration's access.yaml."""
    return Path(os.environ.get("DUCHA_ACCESS_FILE") or config_path("access.yaml"))


def load_access(path: Path | None = None) -> AccessMap:
    """The access mapping, checked (a typo must not widen anyone's scope silently).
    Read each time: a change needs no restart."""
    return read_config(path or access_file(), AccessMap)


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
    def released(self) -> Path:
        """Tables a publisher signed off (签发): what goes to the public."""
        return self.root / "released"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def ledgers(self) -> Path:
        """Internal work lists (交办/办理/办结 ledgers): never published."""
        return self.root / "ledgers"

    @property
    def warehouse_file(self) -> Path:
        return self.root / "warehouse.sqlite"

    def ensure(self) -> DataDirs:
        for p in (
            self.landing,
            self.archive,
            self.quarantine,
            self.outbox,
            self.released,
            self.reports,
            self.ledgers,
        ):
            p.mkdir(parents=True, exist_ok=True)
        return self


def data_dirs(root: str | os.PathLike[str] | None = None) -> DataDirs:
    return DataDirs(Path(root or os.environ.get("DUCHA_DATA_DIR") or "data").resolve())


def publish_workers() -> int:
    """Processes that write a day's tables: ``DUCHA_PUBLISH_WORKERS``, else the machine's
    CPUs, at most 4 (beyond that the disk, not the CPU, sets the pace)."""
    value = os.environ.get("DUCHA_PUBLISH_WORKERS", "").strip()
    if not value:
        return max(1, min(4, os.cpu_count() or 1))
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"DUCHA_PUBLISH_WORKERS must be a whole number ≥ 1, not {value!r}")
    return int(value)


class WarehouseConfigError(RuntimeError):
    """The warehouse connection is configured but cannot be used. Never fall back to the
    embedded SQLite file then: a worker would write a second, private warehouse."""


WAREHOUSE_CONN_ID = "ducha_warehouse"


def warehouse_url(explicit: str | None = None, dirs: DataDirs | None = None) -> str:
    """Explicit URL, else the Airflow connection ``ducha_warehouse``, else
    ``DUCHA_WAREHOUSE_URL``, else the embedded SQLite file under the data root.

    A connection that is configured but cannot be read raises WarehouseConfigError; with
    ``DUCHA_REQUIRE_WAREHOUSE_CONNECTION=1`` (production) so does a missing one."""
    if explicit:
        return explicit
    url = _airflow_connection_url(WAREHOUSE_CONN_ID)
    if url:
        return url
    if os.environ.get("DUCHA_REQUIRE_WAREHOUSE_CONNECTION"):
        raise WarehouseConfigError(
            f"no Airflow connection {WAREHOUSE_CONN_ID!r}, and DUCHA_REQUIRE_WAREHOUSE_CONNECTION is set"
        )
    if os.environ.get("DUCHA_WAREHOUSE_URL"):
        return os.environ["DUCHA_WAREHOUSE_URL"]
    return f"sqlite:///{(dirs or data_dirs()).warehouse_file}"


def airflow_connection(conn_id: str) -> tuple[str, object] | None:
    """Where the Airflow connection ``conn_id`` is configured: ("env", the value of
    ``AIRFLOW_CONN_<ID>``) or ("airflow", the Connection, asked inside a running task);
    None when it is not configured. Other errors reading it propagate."""
    env = os.environ.get("AIRFLOW_CONN_" + conn_id.upper())
    if env is not None and env.strip():
        return "env", env.strip()
    # Ask Airflow only inside a running task (the task runner sets AIRFLOW_CTX_*): outside
    # one, importing Airflow costs seconds, finds nothing and logs to stdout.
    if "AIRFLOW_CTX_DAG_ID" not in os.environ:
        return None
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return "airflow", BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        return None  # not configured: the documented fallbacks apply


def _airflow_connection_url(conn_id: str) -> str | None:
    try:
        found = airflow_connection(conn_id)
    except Exception as exc:
        raise WarehouseConfigError(
            f"Airflow connection {conn_id!r} could not be read: {type(exc).__name__}: {exc}"
        ) from exc
    if found is None:
        return None
    where, value = found
    if where == "env":
        return _url_from_env("AIRFLOW_CONN_" + conn_id.upper(), str(value))
    return _sqlalchemy_url(value.get_uri(), f"Airflow connection {conn_id!r}")  # type: ignore[attr-defined]


def _url_from_env(name: str, value: str) -> str:
    """An AIRFLOW_CONN_* variable, in either form Airflow accepts: a URI, or JSON."""
    if value.startswith("{"):
        from sqlalchemy.engine import URL

        try:
            spec = json.loads(value)
            kind = str(spec["conn_type"]).lower()
        except (ValueError, KeyError, TypeError) as exc:
            raise WarehouseConfigError(f"{name} is not a valid JSON connection: {exc}") from None
        if kind in ("postgres", "postgresql"):
            port = spec.get("port")
            return URL.create(
                "postgresql+psycopg",
                username=spec.get("login"),
                password=spec.get("password"),
                host=spec.get("host"),
                port=int(port) if port else None,
                database=spec.get("schema"),
            ).render_as_string(hide_password=False)
        if kind == "sqlite" and spec.get("host"):
            return f"sqlite:///{spec['host']}"
        raise WarehouseConfigError(f"{name}: unsupported warehouse connection type {kind!r}")
    return _sqlalchemy_url(value, name)


def _sqlalchemy_url(uri: str, source: str) -> str:
    # Airflow spells PostgreSQL "postgres://"; SQLAlchemy wants a dialect+driver.
    for prefix in ("postgres://", "postgresql://"):
        if uri.startswith(prefix):
            return "postgresql+psycopg://" + uri[len(prefix) :]
    if uri.startswith(("postgresql+psycopg://", "sqlite:///")):
        return uri
    raise WarehouseConfigError(
        f"{source} is not a usable warehouse URL (postgres://… or sqlite:///…): {uri.split('@')[-1]!r}"
    )


def local_day(moment: dt.datetime) -> dt.date:
    """The landing day of an instant, in the project's timezone."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(timezone()).date()
