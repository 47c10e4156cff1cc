"""Publishing that fails half-way (issue 13): the outbox's disk fills up, or the
publisher may not write there. The tables already published stay whole and readable,
the run fails loudly, and the next run, the fault gone, completes.

The full disk is real: a size-limited tmpfs mounted on the outbox (root only; on a
machine where the test cannot mount it skips, saying so). The refused write is real too:
the publisher runs without root's power to override file permissions, on an outbox
folder it does not own.
"""

from __future__ import annotations

import datetime as dt
import errno
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from ducha.config import data_dirs, get_inspection
from ducha.disclosure.publish import publish_run
from ducha.paths import sha256_file
from ducha.pipeline import Ingestor
from ducha_sample import generate
from tests.conftest import BIN, unavailable

INSPECTION = "c3-hn-2024"


def _load(root: Path, url: str, days: list[Path]) -> None:
    ingestor = Ingestor(data_dirs(root), url, run_label="faults")
    for day in days:
        for path in sorted(day.glob("*.xlsx")):
            ingestor.ingest_file(path, get_inspection(INSPECTION), day=dt.date.fromisoformat(day.name))


def _whole(folder: Path) -> bool:
    """Every file its manifest names is there with the hash the manifest gives."""
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    return all(sha256_file(folder / e["name"]) == e["sha256"] for e in manifest["files"])


def _snapshot(outbox: Path) -> dict[str, bytes]:
    return {str(p.relative_to(outbox)): p.read_bytes() for p in sorted(outbox.rglob("*")) if p.is_file()}


@pytest.fixture
def landing(tmp_path: Path) -> list[Path]:
    generate(tmp_path / "landing", INSPECTION, days=2, seed=11)
    return sorted((tmp_path / "landing" / INSPECTION).iterdir())


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs of 64 MB mounted on the outbox; its size is changed by remounting."""
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        unavailable("mounting a size-limited tmpfs needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(outbox)], capture_output=True
    )
    if done.returncode != 0:
        unavailable(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    try:
        yield outbox
    finally:
        subprocess.run(["umount", "-l", str(outbox)], check=False)


def _resize(mount: Path, size_bytes: int) -> None:
    kib = max(size_bytes // 1024, 64)
    subprocess.run(["mount", "-o", f"remount,size={kib}k", str(mount)], check=True)


def test_a_full_disk_fails_the_run_and_keeps_the_tables_before(
    small_disk: Path, landing: list[Path], tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'w.sqlite'}"
    from ducha.warehouse.db import upgrade

    engine = upgrade(url)
    _load(tmp_path / "data", url, landing[:1])
    publish_run(engine, small_disk)
    first = small_disk / INSPECTION / landing[0].name
    assert _whole(first)
    before = _snapshot(small_disk)
    used = shutil.disk_usage(small_disk).used
    _resize(small_disk, used + 48 * 1024)  # room for a little, not for a day's tables
    _load(tmp_path / "data", url, landing[1:])
    with pytest.raises(OSError) as failed:
        publish_run(engine, small_disk)
    assert failed.value.errno == errno.ENOSPC
    # The day before is as it was, byte for byte; nothing half-written is left beside it.
    assert _snapshot(small_disk) == before and _whole(first)
    assert sorted(p.name for p in (small_disk / INSPECTION).iterdir()) == [landing[0].name]
    # Room again: the next run publishes the new day.
    _resize(small_disk, 64 * 2**20)
    outcomes = publish_run(engine, small_disk)
    assert [o.as_of for o in outcomes if o.folder] == [landing[1].name]
    assert _whole(small_disk / INSPECTION / landing[1].name) and _whole(first)


def test_an_outbox_the_publisher_may_not_write_fails_loudly_and_keeps_the_tables(
    landing: list[Path], tmp_path: Path
) -> None:
    """The inspection's folder of the outbox is another user's; the publisher is root
    without the capability to override file permissions (as any service account is)."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        unavailable("dropping root's permission override needs root and setpriv")
    data, outbox = tmp_path / "data", tmp_path / "outbox"
    url = f"sqlite:///{data / 'warehouse.sqlite'}"
    data.mkdir()
    from ducha.warehouse.db import upgrade

    engine = upgrade(url)
    _load(data, url, landing[:1])
    publish_run(engine, outbox)
    _load(data, url, landing[1:])
    engine.dispose()
    before = _snapshot(outbox)
    folder = outbox / INSPECTION
    shutil.chown(folder, user="nobody")
    folder.chmod(0o755)
    unprivileged = ["setpriv", f"--inh-caps={NO_OVERRIDE}", f"--bounding-set={NO_OVERRIDE}", "--"]
    argv = [*unprivileged, str(BIN / "ducha"), "publish", "--warehouse", url, "--out", str(outbox)]
    env = {**os.environ, "DUCHA_DATA_DIR": str(data)}
    refused = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
    # One line that says what and where, not a traceback.
    assert refused.returncode == 3, refused.stderr[-2000:]
    assert refused.stderr.strip().splitlines()[-1] == (
        f"ducha publish: Permission denied: {folder / ('.' + landing[1].name + '.tmp')}"
    )
    assert "Traceback" not in refused.stderr
    assert _snapshot(outbox) == before and _whole(folder / landing[0].name)
    # The folder given back to the publisher: the next run completes.
    shutil.chown(folder, user="root")
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert _whole(folder / landing[1].name) and _whole(folder / landing[0].name)


NO_OVERRIDE = "-dac_override,-dac_read_search"
