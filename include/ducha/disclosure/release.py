"""Sign-off (签发): a day's tables in the outbox are drafts; a publisher approves or
rejects them, and only an approved draft is copied to ``released/<inspection>/<day>/``
with who approved it, when, and their comment in its manifest.

An approval names the draft it was given (the sha256 of its manifest): if the day was
published again since, the approval does not release the newer tables, which wait for
their own sign-off. Every decision, rejections included, is kept in the day's history
(``released/<inspection>/history/<day>.json``); a day rejected and then published again
after the fix is asked for again, and its history shows both.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from ducha.config import ALL_REGIONS, AccessMap
from ducha.disclosure.writers import MANIFEST_NAME, atomic_path, folder_aside, write_manifest
from ducha.paths import DAY_PATTERN, check_inspection_id, sha256_file, under

APPROVE, REJECT = "approve", "reject"
HISTORY = "history"
_DAY = re.compile(DAY_PATTERN)
_DRAFT = re.compile(r"[0-9a-f]{64}")
_MANIFEST_KEYS = ("as_of", "files", "generator", "manifest_version")


class DraftChanged(RuntimeError):
    """The approved draft is no longer the one in the outbox (published again since)."""


@dataclass(frozen=True)
class Signoff:
    """One publisher's decision on one draft of one day."""

    inspection_id: str
    day: str
    draft: str  # sha256 of the draft's manifest.json: what was shown and decided on
    decision: str  # approve | reject
    by: str
    at: str  # ISO 8601, UTC, as Airflow recorded the response
    comment: str
    run_id: str  # the sign-off run (Airflow), which the publish run triggered
    publish_run: str = ""  # the ducha_publish run that wrote the draft

    def __post_init__(self) -> None:
        check_inspection_id(self.inspection_id)
        _day(self.day)
        if self.decision not in (APPROVE, REJECT):
            raise ValueError(f"a sign-off is {APPROVE} or {REJECT}, not {self.decision!r}")


def draft_sha(outbox: Path, inspection_id: str, day: str) -> str | None:
    """The sha256 of the day's draft manifest, None when there is no draft."""
    manifest = under(outbox, check_inspection_id(inspection_id), _day(day), MANIFEST_NAME)
    return sha256_file(manifest) if manifest.is_file() else None


def history(released: Path, inspection_id: str, day: str) -> list[dict]:
    path = _history_path(released, inspection_id, day)
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else []


def record(released: Path, outbox: Path, signoff: Signoff) -> Path | None:
    """Keep the decision in the day's history and, for an approval of the current draft,
    release it; the released folder (or None). Idempotent: the same run's decision again
    changes nothing (a retried task)."""
    entries = history(released, signoff.inspection_id, signoff.day)
    # The same answer again (a retried task) is one entry; a task cleared and answered
    # anew is another decision, kept.
    if not any(
        e["run_id"] == signoff.run_id and e["draft"] == signoff.draft and e["at"] == signoff.at
        for e in entries
    ):
        entries.append(asdict(signoff))
        path = _history_path(released, signoff.inspection_id, signoff.day)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as temp:
            temp.write_text(json.dumps(entries, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    if signoff.decision != APPROVE:
        _withdraw(released, signoff)
        return None
    return release(released, outbox, signoff)


def _withdraw(released: Path, signoff: Signoff) -> None:
    """A rejection of the very draft that was released (its approval cleared and answered
    anew) takes it back out of released/; an earlier, other draft stays released."""
    final = under(released, signoff.inspection_id, signoff.day)
    manifest = final / MANIFEST_NAME
    if manifest.is_file():
        current = json.loads(manifest.read_text(encoding="utf-8")).get("release", {}).get("draft")
        if current == signoff.draft:
            gone = final.with_name(f".{final.name}.withdrawn")
            shutil.rmtree(gone, ignore_errors=True)
            final.rename(gone)
            shutil.rmtree(gone, ignore_errors=True)


def release(released: Path, outbox: Path, signoff: Signoff) -> Path:
    """Copy the approved draft into released/, checked file by file against its manifest;
    the manifest gains the approval. Raises DraftChanged if the outbox holds another draft."""
    source = under(outbox, signoff.inspection_id, signoff.day)
    # Read once: the bytes hashed are the bytes released (a publish may swap the folder).
    raw = (source / MANIFEST_NAME).read_bytes() if (source / MANIFEST_NAME).is_file() else b""
    if hashlib.sha256(raw).hexdigest() != signoff.draft:
        raise DraftChanged(
            f"{signoff.inspection_id} {signoff.day}: the tables were published again after the draft "
            f"{signoff.draft[:12]} was signed off; the new draft waits for its own sign-off"
        )
    manifest = json.loads(raw.decode("utf-8"))
    final = under(released, signoff.inspection_id, signoff.day)
    final.parent.mkdir(parents=True, exist_ok=True)
    with folder_aside(final) as tmp:
        for entry in manifest["files"]:
            target = under(tmp, entry["name"])
            shutil.copyfile(under(source, entry["name"]), target)
            if sha256_file(target) != entry["sha256"]:
                raise DraftChanged(f"{entry['name']} changed while it was being released")
        extra = {k: v for k, v in manifest.items() if k not in _MANIFEST_KEYS}
        extra["release"] = {
            "approved_by": signoff.by,
            "approved_at": signoff.at,
            "comment": signoff.comment,
            "draft": signoff.draft,
            "signoff_run": signoff.run_id,
            "publish_run": signoff.publish_run,
        }
        write_manifest(tmp, files=manifest["files"], as_of=manifest["as_of"], extra=extra)
    return final


def _day(day: str) -> str:
    """A day as YYYY-MM-DD and nothing else: it names a folder."""
    if not isinstance(day, str) or not _DAY.fullmatch(day):
        raise ValueError(f"not a day (YYYY-MM-DD): {day!r}")
    dt.date.fromisoformat(day)
    return day


def _history_path(released: Path, inspection_id: str, day: str) -> Path:
    return under(released, check_inspection_id(inspection_id), HISTORY, f"{_day(day)}.json")


SIGNOFF_DAG_ID = "ducha_signoff"


def signoff_request(inspection_id: str, day: str, draft: str, publish_run: str) -> dict[str, object]:
    """The sign-off run a published draft asks for: one run per draft, named by it, so
    publishing the same tables again asks nothing new and a changed day asks again."""
    check_inspection_id(inspection_id)
    _day(day)
    return {
        "trigger_run_id": f"signoff__{inspection_id}__{day}__{draft[:16]}",
        "conf": {"inspection": inspection_id, "day": day, "draft": draft, "publish_run": publish_run},
    }


REQUESTS = (
    "signoff"  # outbox/<inspection>/signoff/<day>/<draft>.json: what each draft's sign-off was asked with
)


def keep_request(outbox: Path, conf: dict) -> Path:
    """Keep, beside the draft, what its sign-off run was asked with (the conf of
    ``signoff_request``: the publish run that wrote the draft), so the pages link to
    that run without asking Airflow for the sign-off run. One file per draft: a draft
    published again (even to the same bytes) keeps what its sign-off run was told."""
    path = _request_path(outbox, conf["inspection"], conf["day"], conf["draft"])
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as temp:
        temp.write_text(
            json.dumps({"publish_run": str(conf.get("publish_run") or "")}) + "\n", encoding="utf-8"
        )
    return path


def requested_publish_run(outbox: Path, inspection_id: str, day: str, draft: str) -> str:
    """The publish run that wrote the draft, as its sign-off run was told ("" if not kept)."""
    if not _DRAFT.fullmatch(draft):
        return ""  # no draft (a publish was swapping the folder): nothing was asked for it
    path = _request_path(outbox, inspection_id, day, draft)
    return (
        str(json.loads(path.read_text(encoding="utf-8")).get("publish_run") or "") if path.is_file() else ""
    )


def _request_path(outbox: Path, inspection_id: str, day: str, draft: str) -> Path:
    if not isinstance(draft, str) or not _DRAFT.fullmatch(draft):
        raise ValueError(f"not a draft (the sha256 of its manifest): {draft!r}")
    return under(outbox, check_inspection_id(inspection_id), REQUESTS, _day(day), f"{draft}.json")


def draft_summary(outbox: Path, inspection_id: str, day: str) -> str:
    """What the publisher is asked to sign (the approval's body, Markdown): the tables,
    the cases, and every batch still waiting for rows in quarantine."""
    manifest = json.loads(under(outbox, inspection_id, _day(day), MANIFEST_NAME).read_text(encoding="utf-8"))
    lines = [
        f"**{manifest.get('inspection_name', inspection_id)}** — 截至 {manifest['as_of']}",
        "",
        f"- 表格文件 {len(manifest['files'])} 个，累计案件 {manifest.get('cases', 0)} 件",
    ]
    for batch in manifest.get("batches", []):
        if batch.get("pending"):
            held = "（暂缓公开）" if batch.get("held") else ""
            lines.append(f"- 第{batch['batch_no']}批：{batch['pending']} 件待补正{held}")
    return "\n".join(lines)


def approver_allowed(name: str, mapping: AccessMap) -> bool:
    """May ``name`` approve, by the access mapping (access.yaml, ducha.config.load_access)? A user
    listed by name needs ``publisher: true`` and the whole province. When publishers are
    named, nobody else may approve — Airflow's Required Actions view lets any user with
    its ``User`` role answer, and the DAG checks again. When none is named (publishers
    only by role), the roles Airflow checked are all there is to go on."""
    if name in mapping.users:
        entry = mapping.users[name]
        return entry.publisher and entry.regions == ALL_REGIONS
    return not any(e.publisher for e in mapping.users.values())


def signoff_from_response(conf: dict, response: dict, run_id: str) -> Signoff:
    """A sign-off from the approval task's result (Airflow's HITL response: the option
    chosen, the form's fields, who answered and when)."""
    chosen = (response.get("chosen_options") or [""])[0]
    user = response.get("responded_by_user") or {}
    return Signoff(
        inspection_id=conf["inspection"],
        day=conf["day"],
        draft=conf["draft"],
        decision=APPROVE if chosen == "Approve" else REJECT,
        by=str(user.get("name") or user.get("id") or "（超时未签发）"),
        at=_iso(response.get("responded_at")),
        comment=str((response.get("params_input") or {}).get("comment") or ""),
        run_id=run_id,
        publish_run=str(conf.get("publish_run") or ""),
    )


def _iso(value: object) -> str:
    """Airflow's response time (a datetime, or its text) in ISO 8601."""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value or "")
