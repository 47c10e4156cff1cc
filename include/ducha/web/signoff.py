"""The pages' side of sign-off: what Airflow's human-in-the-loop API says of a day's
draft, and a publisher's answer sent back through that same API, as the user
themselves (their own token), so Airflow records who answered and the sign-off run
resumes exactly as from Airflow's own Required Actions view."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx

from ducha.disclosure.release import SIGNOFF_DAG_ID, requested_publish_run, signoff_request

TASK_ID = "sign_off"
TIMEOUT = 10.0


class SignoffError(RuntimeError):
    """Airflow refused or could not be reached; the message is for the page."""


@dataclass(frozen=True)
class Waiting:
    """A draft's sign-off as Airflow holds it."""

    run_id: str
    responded: bool
    chosen: str | None
    by: str | None
    at: str | None
    comment: str
    publish_run: str  # the ducha_publish run that wrote the draft ("" if its sign-off run kept none)


def run_id_for(inspection_id: str, day: str, draft: str) -> str:
    return str(signoff_request(inspection_id, day, draft, "")["trigger_run_id"])


def _url(api_root: str, run_id: str) -> str:
    run = f"{api_root.rstrip('/')}/api/v2/dags/{SIGNOFF_DAG_ID}/dagRuns/{quote(run_id, safe='')}"
    return f"{run}/taskInstances/{TASK_ID}/-1/hitlDetails"


def status(
    api_root: str, token: str, outbox: Path, inspection_id: str, day: str, draft: str
) -> Waiting | None:
    """The draft's sign-off, None when none was asked yet (or the run has not reached
    its approval task). One call to Airflow: the publish run is read from beside the
    draft, where its sign-off run kept it (release.keep_request)."""
    run_id = run_id_for(inspection_id, day, draft)
    try:
        got = httpx.get(_url(api_root, run_id), headers=_auth(token), timeout=TIMEOUT)
    except httpx.HTTPError as exc:
        raise SignoffError(f"Airflow 无法连接：{type(exc).__name__}") from exc
    if got.status_code == 404:
        return None
    if got.status_code != 200:
        raise SignoffError(f"Airflow 返回 {got.status_code}")
    detail = got.json()
    user = detail.get("responded_by_user") or {}
    chosen = detail.get("chosen_options") or []
    return Waiting(
        run_id=run_id,
        responded=bool(detail.get("response_received")),
        chosen=chosen[0] if chosen else None,
        by=user.get("name"),
        at=detail.get("responded_at"),
        comment=str((detail.get("params_input") or {}).get("comment") or ""),
        publish_run=requested_publish_run(outbox, inspection_id, day, draft),
    )


def settle_wait(detail: dict, now: dt.datetime, settle_seconds: float) -> float:
    """Seconds to wait before answering the request ``detail`` (Airflow's hitlDetails).

    Airflow 3.3.2 fails a Human-in-the-loop task answered before its scheduler has taken
    in the executor's report of the task's pause: the report, for the same try, arrives
    after the answer re-queued the task and reads as "finished while queued". That report
    comes within seconds of the try's start; an answer given sooner is held back until
    then. A retried try keeps its request's ``created_at``, so the later of that and the
    try's start counts.
    """
    times = [detail.get("created_at"), (detail.get("task_instance") or {}).get("start_date")]
    asked = max((dt.datetime.fromisoformat(t.replace("Z", "+00:00")) for t in times if t), default=now)
    return max(0.0, settle_seconds - (now - asked).total_seconds())


def answer(
    api_root: str,
    token: str,
    inspection_id: str,
    day: str,
    draft: str,
    approve: bool,
    comment: str,
    settle_seconds: float = 0.0,
) -> None:
    """Approve or reject the draft, as the user whose token this is; an answer given
    within ``settle_seconds`` of the request waits out the rest (see ``settle_wait``)."""
    url = _url(api_root, run_id_for(inspection_id, day, draft))
    body = {"chosen_options": ["Approve" if approve else "Reject"], "params_input": {"comment": comment}}
    try:
        asked = httpx.get(url, headers=_auth(token), timeout=TIMEOUT)
        if asked.status_code == 200:
            detail = asked.json()
            if detail.get("response_received"):
                raise SignoffError("该稿已有签发意见")
            time.sleep(settle_wait(detail, dt.datetime.now(dt.UTC), settle_seconds))
        got = httpx.patch(url, json=body, headers=_auth(token), timeout=TIMEOUT)
    except httpx.HTTPError as exc:
        raise SignoffError(f"Airflow 无法连接：{type(exc).__name__}") from exc
    if got.status_code == 409:
        raise SignoffError("该稿已有签发意见")
    if got.status_code == 404:
        raise SignoffError("该稿尚无待签发的任务（发布任务可能仍在运行）")
    if got.status_code >= 300:
        raise SignoffError(f"Airflow 拒绝：{got.status_code} {got.text[:200]}")


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
