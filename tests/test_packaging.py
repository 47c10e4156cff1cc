"""A non-editable install works: the wheel carries the configuration, the pages' templates
and static files and Alembic's template, so Ducha runs from site-packages (the production
image installs it so), and it carries nothing of the sample generator or the tests."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow

# Run from a folder outside the repository, with only the installed copy on the path.
SMOKE = """
import sys
from pathlib import Path

import ducha

target = Path(sys.argv[1]).resolve()
assert Path(ducha.__file__).resolve().is_relative_to(target), ducha.__file__

from ducha.config import load_access, project_settings, registry
from ducha.contract import load_contract
from ducha.layouts import layouts
from ducha.warehouse.db import MIGRATIONS
from ducha.web.shared import TEMPLATES

assert "c3-hn-2024" in registry(), registry()
assert "case_id" in load_contract().fields
assert {"standard9", "central11"} <= set(layouts())
assert project_settings().timezone == "Asia/Shanghai" and "admin" in load_access().roles
assert (MIGRATIONS / "script.py.mako").is_file()
TEMPLATES.get_template("cases.html")
print("installed ducha works")
"""


def _can_build_without_isolation() -> bool:
    """The environment's setuptools writes wheels itself (70.1 and later) or has `wheel`."""
    import setuptools

    major, minor = (int(x) for x in setuptools.__version__.split(".")[:2])
    return (major, minor) >= (70, 1) or importlib.util.find_spec("wheel") is not None


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Built from a copy: an in-tree build leaves build/ and *.egg-info in the working tree.
    source = tmp_path_factory.mktemp("source")
    shutil.copy(REPO / "pyproject.toml", source)
    shutil.copytree(
        REPO / "include", source / "include", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    out = tmp_path_factory.mktemp("dist")
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(source)]
    if _can_build_without_isolation():  # else pip fetches a newer setuptools to build with
        command.append("--no-build-isolation")
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    (built,) = out.glob("ducha-*.whl")
    return built


def test_the_installed_wheel_runs_outside_the_repository(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUCHA_")}
    env["PYTHONPATH"] = str(target)
    done = subprocess.run(
        [sys.executable, "-c", SMOKE, str(target)],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "installed ducha works" in done.stdout


def test_the_wheel_holds_the_runtime_package_only(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    packaged = {n.split("/")[0] for n in names}
    assert packaged == {"ducha", "ducha-0.1.0.dist-info"}, packaged  # no ducha_sample, no tests
    assert not [n for n in names if "/tests/" in n or Path(n).name.startswith(("test_", "conftest"))]
    for data in (
        "ducha/conf/contract.yaml",
        "ducha/conf/ducha.yaml",
        "ducha/conf/generic.yaml",
        "ducha/conf/layouts.yaml",
        "ducha/conf/access.yaml",
        "ducha/conf/inspections/c3-hn-2024.yaml",
        "ducha/web/templates/base.html",
        "ducha/web/static/ducha.css",
        "ducha/warehouse/migrations/script.py.mako",
        "ducha/warehouse/__init__.py",
    ):
        assert data in names, data
