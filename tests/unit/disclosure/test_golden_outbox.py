"""The published bytes of the sample inspection, pinned: a change of layout or of a
library must not change a published table unless it means to. When it does, rewrite the
pins in the same commit (``DUCHA_UPDATE_GOLDEN=1 pytest tests/unit/disclosure/test_golden_outbox.py``)
and say why in its message."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ducha.paths import sha256_file
from tests.conftest import published_sample

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "c3-hn-2024-10-days.json"


def test_the_sample_publishes_the_pinned_bytes(tmp_path: Path) -> None:
    outbox = published_sample(tmp_path, "c3-hn-2024", days=10) / "outbox"
    got = {
        path.relative_to(outbox).as_posix(): sha256_file(path)
        for path in sorted(outbox.rglob("*"))
        if path.is_file()
    }
    if os.environ.get("DUCHA_UPDATE_GOLDEN"):
        GOLDEN.write_text(json.dumps(got, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    pinned = json.loads(GOLDEN.read_text(encoding="utf-8"))
    changed = sorted(name for name in got.keys() & pinned.keys() if got[name] != pinned[name])
    assert (sorted(pinned.keys() - got.keys()), sorted(got.keys() - pinned.keys()), changed) == ([], [], [])
