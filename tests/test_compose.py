"""docker-compose.yaml keeps the shape tests/e2e/test_topology.py runs as processes, takes
every secret from .env, and its init fails loudly. (No Docker engine runs here: these
checks read the file; the topology itself is proven by the process test.)"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml

from tests.e2e.test_topology import TOPOLOGY

REPO = Path(__file__).resolve().parent.parent
TEXT = (REPO / "docker-compose.yaml").read_text(encoding="utf-8")
COMPOSE = yaml.safe_load(TEXT)


def test_the_same_services_as_the_process_topology() -> None:
    commands = {
        tuple(str(s.get("command", "")).split())
        for name, s in COMPOSE["services"].items()
        if name != "airflow-init"
    }
    assert {t for t in TOPOLOGY} | {("celery", "worker")} <= commands
    assert COMPOSE["x-airflow-common"]["environment"]["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"


def test_no_secret_is_written_in_the_file() -> None:
    for key, value in _environment_items():
        if re.search(r"PASSWORD|SECRET|FERNET|_CONN", key) or "://" in str(value):
            # A URL's password, if any, is a ${VAR} reference.
            assert not re.search(r"://[^:/@]*:(?!\$\{)[^@]+@", str(value)), (key, value)
        if re.search(r"PASSWORD|SECRET|FERNET", key):
            assert str(value).startswith("${"), (key, value)
    assert "PASSWORD 'ducha'" not in (REPO / "docs" / "compose" / "init-warehouse.sh").read_text()


def test_every_required_variable_is_in_env_example() -> None:
    required = set(re.findall(r"\$\{([A-Z_]+):\?", TEXT))
    example = {
        line.split("=", 1)[0] for line in (REPO / ".env.example").read_text().splitlines() if "=" in line
    }
    assert required and required <= example, required - example
    assert ".env" in (REPO / ".gitignore").read_text().splitlines()


def test_init_fails_loudly() -> None:
    init = COMPOSE["services"]["airflow-init"]
    script = init["command"][-1]  # bash -c SCRIPT
    assert "|| true" not in TEXT and script.lstrip().startswith("set -euo pipefail")
    # Valid bash once compose has turned "$$" into "$".
    done = subprocess.run(["bash", "-n"], input=script.replace("$$", "$"), text=True, capture_output=True)
    assert done.returncode == 0, done.stderr
    done = subprocess.run(
        ["bash", "-n", str(REPO / "docs" / "compose" / "init-warehouse.sh")], capture_output=True
    )
    assert done.returncode == 0, done.stderr
    for name, service in COMPOSE["services"].items():
        if name.startswith("airflow-") and name != "airflow-init":
            assert service["depends_on"]["airflow-init"] == {"condition": "service_completed_successfully"}, (
                name
            )


def _environment_items() -> list[tuple[str, object]]:
    items = list(COMPOSE["x-airflow-common"]["environment"].items())
    for service in COMPOSE["services"].values():
        env = service.get("environment") or {}
        items += [(k, v) for k, v in env.items() if k != "<<"]
    return items


def test_the_image_holds_the_dags_and_an_installed_ducha() -> None:
    """The production image runs what it contains: DAGs and plugins where Airflow reads them,
    Ducha installed as a wheel (not editable); compose mounts no source over them."""
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^COPY .*\bdags/ /opt/airflow/dags/$", dockerfile, re.M)
    assert re.search(r"^COPY .*\bplugins/ /opt/airflow/plugins/$", dockerfile, re.M)
    installs = re.findall(r"pip install [^\n\\]*/opt/ducha\b", dockerfile)
    assert installs and not [i for i in installs if " -e " in i or "--editable" in i], installs
    mounts = COMPOSE["x-airflow-common"].get("volumes") or []
    assert not [m for m in mounts if str(m).startswith(("./include", "./dags", "./plugins"))], mounts
