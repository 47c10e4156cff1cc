"""Airflow's services as processes (api-server, scheduler, dag-processor), for the demo
and the scheduler tests: start them in an Airflow home, wait for what the scheduler
decides, stop everything started. No Docker engine is needed."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO
from urllib.error import HTTPError
from urllib.request import Request, urlopen

SERVICES = (("api-server",), ("scheduler",), ("dag-processor",))
FINISHED = ("success", "failed")
# Runs that wait for a person (a publisher's sign-off): the machine's work is done
# without them, and they may wait for days.
HUMAN_DAGS = ("ducha_signoff",)


REPO = Path(__file__).resolve().parent.parent


def migrated_home(home: Path, data: Path, bin_dir: Path, **settings: str) -> dict[str, str]:
    """The environment of an Airflow in ``home`` running the project's DAGs on the data
    folder ``data`` (none of the caller's AIRFLOW_* or DUCHA_* variables leak in), with
    its metadata database migrated; ``settings`` are more variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "DUCHA_"))}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(REPO / "dags"),
        AIRFLOW__CORE__PLUGINS_FOLDER=str(REPO / "plugins"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        DUCHA_DATA_DIR=str(data),
        PATH=f"{bin_dir}:{env.get('PATH', '')}",
        **settings,
    )
    home.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [str(bin_dir / "airflow"), "db", "migrate"], env=env, capture_output=True, text=True, timeout=600
    )
    if done.returncode != 0:
        raise RuntimeError(f"airflow db migrate failed in {home}:\n{done.stderr[-3000:]}")
    from ducha.orchestration import WRITERS_POOL, WRITERS_POOL_DESCRIPTION

    slots = "1" if embedded_metadata(env) else "4"  # one writer at a time on SQLite
    done = subprocess.run(
        [str(bin_dir / "airflow"), "pools", "set", WRITERS_POOL, slots, WRITERS_POOL_DESCRIPTION],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        raise RuntimeError(f"airflow pools set failed in {home}:\n{done.stderr[-3000:]}")
    return env


def embedded_metadata(env: dict[str, str]) -> bool:
    """Does this Airflow home keep its metadata in the embedded SQLite (the default)?"""
    return "sqlite" in env.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "sqlite")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def service_settings(port: int) -> dict[str, str]:
    """The variables that make the services of one home find each other (tasks reach the
    api-server's execution API) and react within seconds. Every port is free, not the
    default: two homes on one machine (parallel tests, a demo beside a suite) must not
    take each other's log servers."""
    return {
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS": "ducha.orchestration.SQLITE_METADATA_CONNECT_ARGS",
    }


class Services:
    """The services of one Airflow home; a context manager that stops them on exit."""

    def __init__(
        self,
        env: dict[str, str],
        logs: Path,
        airflow: Path = Path("airflow"),
        services: tuple[tuple[str, ...], ...] = SERVICES,
    ) -> None:
        self.env = env
        self.logs = logs
        self.bin = airflow
        self.services = services
        self._procs: list[tuple[subprocess.Popen, IO[bytes]]] = []

    def __enter__(self) -> Services:
        self.logs.mkdir(parents=True, exist_ok=True)
        for service in self.services:
            log = open(self.logs / f"{service[0]}.log", "wb")  # closed in stop()
            proc = subprocess.Popen(
                [str(self.bin), *service],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: stop() ends its children too
            )
            self._procs.append((proc, log))
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        for proc, _ in self._procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc, log in self._procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            log.close()
        self._procs = []

    def airflow(self, *args: str, timeout: float = 300) -> str:
        """An `airflow` command; retried while the scheduler holds SQLite's write lock."""
        for _ in range(5):
            done = subprocess.run(
                [str(self.bin), *args], env=self.env, capture_output=True, text=True, timeout=timeout
            )
            if done.returncode == 0 or "database is locked" not in done.stderr:
                break
            time.sleep(2)
        if done.returncode != 0:
            raise RuntimeError(f"airflow {' '.join(args)} failed:\n{done.stderr[-3000:]}")
        return done.stdout

    def backfill(self, dag_id: str, *args: str, timeout: float = 300) -> int:
        """Create a backfill of ``dag_id``; returns how many backfills the home now holds.
        On SQLite metadata, a `backfill create` that clears earlier runs reads, then
        writes, in one transaction; SQLite refuses that upgrade at once (whatever the busy
        timeout) while the scheduler writes, which it does every second, after the create
        has committed its backfill but not all its runs. So the scheduler is held still
        (SIGSTOP, then SIGCONT) for the seconds of the create; if the create still fails
        that way, wait until the scheduler completes the partial backfill (a second
        create is refused while it is active), then create again."""
        count = "SELECT count(*) AS n FROM backfill WHERE dag_id = ?"
        active = "SELECT count(*) AS n FROM backfill WHERE dag_id = ? AND completed_at IS NULL"
        for _ in range(5):
            before = self.metadata(count, dag_id)[0]["n"]
            with self._held("scheduler"):
                done = subprocess.run(
                    [str(self.bin), "backfill", "create", "--dag-id", dag_id, *args],
                    env=self.env,
                    capture_output=True,
                    text=True,
                    timeout=timeout,
                )
            if done.returncode == 0:
                return self.metadata(count, dag_id)[0]["n"]
            if "database is locked" not in done.stderr:
                break
            if self.metadata(count, dag_id)[0]["n"] > before:
                deadline = time.monotonic() + timeout
                while self.metadata(active, dag_id)[0]["n"]:
                    self._check_alive()
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"a partial backfill of {dag_id} did not complete")
                    time.sleep(2)
            time.sleep(2)
        raise RuntimeError(f"airflow backfill create {dag_id} failed:\n{done.stderr[-3000:]}")

    @contextlib.contextmanager
    def _held(self, service: str) -> Iterator[None]:
        """``service`` (with its children) stopped for the block, on SQLite metadata only."""
        if not embedded_metadata(self.env):
            yield
            return
        held = [p for (p, _), s in zip(self._procs, self.services, strict=True) if s[0] == service]
        held = [p for p in held if p.poll() is None]
        for proc in held:
            os.killpg(proc.pid, signal.SIGSTOP)
        try:
            yield
        finally:
            for proc in held:
                os.killpg(proc.pid, signal.SIGCONT)

    @contextlib.contextmanager
    def paused(self, service: str) -> Iterator[None]:
        """``service``'s own process stopped for the block, its children going on: the
        scheduler's LocalExecutor workers finish the task they run, and the scheduler
        hears of it only after the block. On SQLite metadata it is stopped only where it
        holds no lock on the database, so the api-server and the workers still write."""
        (proc,) = [p for (p, _), s in zip(self._procs, self.services, strict=True) if s[0] == service]
        deadline = time.monotonic() + 30
        while True:
            os.kill(proc.pid, signal.SIGSTOP)
            while Path(f"/proc/{proc.pid}/stat").read_text().split(") ")[1][0] not in "Tt":
                time.sleep(0.001)
            if not embedded_metadata(self.env) or self._unlocked():
                break
            os.kill(proc.pid, signal.SIGCONT)
            if time.monotonic() > deadline:
                raise TimeoutError(f"{service} held the metadata database for 30 s")
            time.sleep(0.02)
        try:
            yield
        finally:
            os.kill(proc.pid, signal.SIGCONT)

    def _unlocked(self) -> bool:
        """No other connection holds SQLite metadata (an exclusive lock is granted)."""
        con = sqlite3.connect(
            Path(self.env["AIRFLOW_HOME"]) / "airflow.db", timeout=0.2, isolation_level=None
        )
        try:
            con.execute("BEGIN EXCLUSIVE")
            con.execute("ROLLBACK")
            return True
        except sqlite3.OperationalError:
            return False
        finally:
            con.close()

    def metadata(self, sql: str, *args: object) -> list[dict]:
        """Rows of the metadata database (SQLite; an `airflow` command costs seconds)."""
        db = Path(self.env["AIRFLOW_HOME"]) / "airflow.db"
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
        try:
            con.row_factory = sqlite3.Row
            return [dict(r) for r in con.execute(sql, args)]
        finally:
            con.close()

    def runs(self) -> list[dict]:
        return self.metadata("SELECT dag_id, run_id, run_type, state, logical_date FROM dag_run")

    def wait_parsed(self, dag_ids: tuple[str, ...], timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while True:
            self._check_alive()
            rows = self.metadata("SELECT dag_id FROM dag WHERE is_stale = 0") if self._has_dags() else []
            if set(dag_ids) <= {r["dag_id"] for r in rows}:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"the dag-processor did not parse {dag_ids}; see {self.logs}")
            time.sleep(2)

    def _has_dags(self) -> bool:
        return bool(self.metadata("SELECT name FROM sqlite_master WHERE name = 'dag'"))

    def wait_idle(self, backfills: int, done: Callable[[], bool], timeout: float = 900) -> list[dict]:
        """Until ``backfills`` backfills are complete, no run is queued or running (but
        those waiting for a person), and ``done()`` says the work is done; returns the runs."""
        deadline = time.monotonic() + timeout
        while True:
            self._check_alive()
            runs = [r for r in self.runs() if r["dag_id"] not in HUMAN_DAGS]
            complete = self.metadata("SELECT id FROM backfill WHERE completed_at IS NOT NULL")
            if len(complete) >= backfills and all(r["state"] in FINISHED for r in runs) and done():
                return runs
            if time.monotonic() > deadline:
                raise TimeoutError(f"still running after {timeout:.0f} s: {runs}")
            time.sleep(2)

    def _check_alive(self) -> None:
        for (proc, _), service in zip(self._procs, self.services, strict=True):
            if proc.poll() is not None:
                log = (self.logs / f"{service[0]}.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"airflow {service[0]} exited ({proc.returncode}):\n{log}")


class Api:
    """Airflow's REST API as one of its users: a token from ``/auth/token``, then
    requests with it (what an operator's script or curl does)."""

    def __init__(self, base: str, username: str, password: str) -> None:
        self.base = base.rstrip("/")
        self.username, self.password = username, password
        self._token: str | None = None

    def token(self) -> str:
        if self._token is None:
            status, body = self.request(
                "POST", "/auth/token", {"username": self.username, "password": self.password}, auth=False
            )
            if status != 201:
                raise RuntimeError(f"login as {self.username} refused: {status} {body}")
            self._token = body["access_token"]
        return self._token

    def request(self, method: str, path: str, body: object = None, *, auth: bool = True) -> tuple[int, dict]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if auth:
            headers["Authorization"] = f"Bearer {self.token()}"
        data = None if body is None else json.dumps(body).encode()
        try:
            with urlopen(Request(self.base + path, data, headers, method=method), timeout=60) as reply:
                return reply.status, json.loads(reply.read() or b"{}")
        except HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")

    def wait_up(self, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urlopen(self.base + "/api/v2/monitor/health", timeout=5):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the api-server at {self.base} did not answer") from None
                time.sleep(2)
