"""Sign-off (签发): only an approved draft reaches released/, exactly as it was shown, with
its approval in the manifest; a rejection releases nothing; every decision is kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ducha.disclosure.release import (
    APPROVE,
    REJECT,
    DraftChanged,
    Signoff,
    draft_sha,
    draft_summary,
    history,
    keep_request,
    record,
    requested_publish_run,
    signoff_from_response,
    signoff_request,
)
from ducha.disclosure.writers import write_manifest
from ducha.paths import UnsafePath

INSPECTION, DAY = "c3-hn-2024", "2024-06-03"


def _draft(outbox: Path, text: str = "第三批") -> str:
    folder = outbox / INSPECTION / DAY
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "第三批公开情况一览表.csv").write_text(text, encoding="utf-8")
    (folder / "累计情况汇总.html").write_text("<p>汇总</p>", encoding="utf-8")
    write_manifest(
        folder,
        files=[
            {"name": "第三批公开情况一览表.csv", "rows": 1, "kind": "batch"},
            {"name": "累计情况汇总.html", "kind": "summary"},
        ],
        as_of=DAY,
        extra={
            "inspection_id": INSPECTION,
            "cases": 1,
            "batches": [{"batch_no": 3, "pending": 2, "held": True}],
        },
    )
    return draft_sha(outbox, INSPECTION, DAY) or ""


def _signoff(draft: str, decision: str = APPROVE, run_id: str = "r1", comment: str = "同意") -> Signoff:
    return Signoff(
        INSPECTION,
        DAY,
        draft,
        decision,
        "officer",
        "2024-06-03T12:00:00+00:00",
        comment,
        run_id,
        "scheduled__p1",
    )


def test_an_approved_draft_is_released_as_shown_with_its_approval(tmp_path: Path) -> None:
    outbox, released = tmp_path / "outbox", tmp_path / "released"
    draft = _draft(outbox)
    folder = record(released, outbox, _signoff(draft))
    assert folder == released / INSPECTION / DAY
    for name in ("第三批公开情况一览表.csv", "累计情况汇总.html"):
        assert (folder / name).read_bytes() == (outbox / INSPECTION / DAY / name).read_bytes()
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    draft_manifest = json.loads((outbox / INSPECTION / DAY / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["files"] == draft_manifest["files"] and manifest["batches"] == draft_manifest["batches"]
    assert manifest["release"] == {
        "approved_by": "officer",
        "approved_at": "2024-06-03T12:00:00+00:00",
        "comment": "同意",
        "draft": draft,
        "signoff_run": "r1",
        "publish_run": "scheduled__p1",
    }
    assert [h["decision"] for h in history(released, INSPECTION, DAY)] == [APPROVE]


def test_a_rejection_releases_nothing_and_is_kept(tmp_path: Path) -> None:
    outbox, released = tmp_path / "outbox", tmp_path / "released"
    draft = _draft(outbox)
    assert record(released, outbox, _signoff(draft, REJECT, comment="第三批数据有误")) is None
    assert not (released / INSPECTION / DAY).exists()
    assert history(released, INSPECTION, DAY)[0]["comment"] == "第三批数据有误"


def test_a_rejected_day_fixed_and_approved_keeps_both_decisions(tmp_path: Path) -> None:
    outbox, released = tmp_path / "outbox", tmp_path / "released"
    first = _draft(outbox, "有误")
    record(released, outbox, _signoff(first, REJECT, run_id="r1", comment="有误"))
    second = _draft(outbox, "已更正")
    assert second != first
    record(released, outbox, _signoff(second, APPROVE, run_id="r2"))
    assert [(h["decision"], h["draft"]) for h in history(released, INSPECTION, DAY)] == [
        (REJECT, first),
        (APPROVE, second),
    ]
    assert (released / INSPECTION / DAY / "第三批公开情况一览表.csv").read_text(encoding="utf-8") == "已更正"


def test_an_approval_of_an_older_draft_releases_nothing(tmp_path: Path) -> None:
    outbox, released = tmp_path / "outbox", tmp_path / "released"
    old = _draft(outbox, "旧稿")
    _draft(outbox, "新稿")
    with pytest.raises(DraftChanged):
        record(released, outbox, _signoff(old))
    assert not (released / INSPECTION / DAY).exists()


def test_recording_the_same_decision_again_changes_nothing(tmp_path: Path) -> None:
    outbox, released = tmp_path / "outbox", tmp_path / "released"
    draft = _draft(outbox)
    record(released, outbox, _signoff(draft))
    first = (released / INSPECTION / DAY / "manifest.json").read_bytes()
    record(released, outbox, _signoff(draft))  # a retried task
    assert len(history(released, INSPECTION, DAY)) == 1
    assert (released / INSPECTION / DAY / "manifest.json").read_bytes() == first


@pytest.mark.parametrize(
    "inspection,day", [("../x", DAY), (INSPECTION, "../../etc"), (INSPECTION, "20240603")]
)
def test_a_signoff_names_only_plain_folders(inspection: str, day: str) -> None:
    with pytest.raises((UnsafePath, ValueError)):
        Signoff(inspection, day, "0" * 64, APPROVE, "x", "t", "", "r")
    with pytest.raises((UnsafePath, ValueError)):
        signoff_request(inspection, day, "0" * 64, "run")


def test_a_request_is_named_by_its_draft(tmp_path: Path) -> None:
    a = signoff_request(INSPECTION, DAY, "a" * 64, "publish-1")
    assert a == signoff_request(INSPECTION, DAY, "a" * 64, "publish-2") | {"conf": a["conf"]}
    assert a["trigger_run_id"] != signoff_request(INSPECTION, DAY, "b" * 64, "p")["trigger_run_id"]
    assert a["conf"] == {"inspection": INSPECTION, "day": DAY, "draft": "a" * 64, "publish_run": "publish-1"}


def test_a_drafts_publish_run_is_kept_beside_it_for_that_draft_only(tmp_path: Path) -> None:
    draft = _draft(tmp_path)
    assert requested_publish_run(tmp_path, INSPECTION, DAY, draft) == ""  # no sign-off asked yet
    keep_request(tmp_path, signoff_request(INSPECTION, DAY, draft, "manual__p1")["conf"])  # type: ignore[arg-type]
    assert requested_publish_run(tmp_path, INSPECTION, DAY, draft) == "manual__p1"
    # Published again to other tables: the new draft's run is its own, the old one's kept.
    newer = _draft(tmp_path, "第三批（更正）")
    assert newer != draft and requested_publish_run(tmp_path, INSPECTION, DAY, newer) == ""
    keep_request(tmp_path, signoff_request(INSPECTION, DAY, newer, "manual__p2")["conf"])  # type: ignore[arg-type]
    assert requested_publish_run(tmp_path, INSPECTION, DAY, newer) == "manual__p2"
    assert requested_publish_run(tmp_path, INSPECTION, DAY, draft) == "manual__p1"
    # Beside the draft, not in it: the draft's folder (and so its sha256) is untouched.
    assert draft_sha(tmp_path, INSPECTION, DAY) == newer
    assert requested_publish_run(tmp_path, INSPECTION, DAY, "") == ""


@pytest.mark.parametrize("draft", ["../" + "a" * 61, "A" * 64, "a" * 63])
def test_a_request_is_kept_only_under_a_drafts_sha256(tmp_path: Path, draft: str) -> None:
    with pytest.raises((UnsafePath, ValueError)):
        keep_request(tmp_path, {"inspection": INSPECTION, "day": DAY, "draft": draft, "publish_run": "p"})


def test_the_approval_text_names_what_awaits_correction(tmp_path: Path) -> None:
    _draft(tmp_path)
    text = draft_summary(tmp_path, INSPECTION, DAY)
    assert "第3批：2 件待补正（暂缓公开）" in text and "表格文件 2 个" in text


def test_a_signoff_from_airflows_response() -> None:
    conf = {"inspection": INSPECTION, "day": DAY, "draft": "c" * 64, "publish_run": "asset_triggered__x"}
    response = {
        "chosen_options": ["Reject"],
        "params_input": {"comment": "请核实"},
        "responded_by_user": {"id": "officer", "name": "officer"},
        "responded_at": "2024-06-03T12:00:00+00:00",
    }
    made = signoff_from_response(conf, response, "run-9")
    assert (made.decision, made.by, made.comment, made.run_id) == (REJECT, "officer", "请核实", "run-9")
    assert made.publish_run == "asset_triggered__x"


@pytest.mark.parametrize(
    "inspection,day", [("..", DAY), (INSPECTION, ".."), (INSPECTION, "2024-06-03/../..")]
)
def test_a_draft_is_looked_up_only_by_plain_names(tmp_path: Path, inspection: str, day: str) -> None:
    """The sign-off run's conf is not checked by Params: the library refuses it."""
    with pytest.raises((UnsafePath, ValueError)):
        draft_sha(tmp_path, inspection, day)


def test_only_a_named_whole_province_publisher_may_approve() -> None:
    from ducha.config import AccessMap
    from ducha.disclosure.release import approver_allowed

    named = AccessMap.model_validate(
        {
            "users": {
                "zhang": {"regions": "*", "publisher": True},
                "liu": {"regions": ["长沙市"], "publisher": True},
                "wang": {"regions": "*"},
            },
            "roles": {"admin": {"regions": "*", "publisher": True}},
        }
    )
    assert approver_allowed("zhang", named)
    assert not approver_allowed("liu", named)  # a city cannot sign the province's tables
    assert not approver_allowed("wang", named)
    assert not approver_allowed("someone", named)  # publishers are named: nobody else
    by_role = AccessMap.model_validate(
        {"users": {"wang": {"regions": "*"}}, "roles": {"admin": {"regions": "*", "publisher": True}}}
    )
    assert approver_allowed("someone", by_role) and not approver_allowed("wang", by_role)


def test_airflows_response_time_is_kept_in_iso_form() -> None:
    import datetime as dt

    conf = {"inspection": INSPECTION, "day": DAY, "draft": "c" * 64}
    at = dt.datetime(2024, 6, 3, 12, 0, tzinfo=dt.UTC)
    made = signoff_from_response(conf, {"chosen_options": ["Approve"], "responded_at": at}, "r")
    assert made.at == "2024-06-03T12:00:00+00:00"
    timed_out = signoff_from_response(conf, {"chosen_options": ["Reject"], "responded_by_user": None}, "r")
    assert timed_out.decision == REJECT and timed_out.by


def test_a_cleared_and_reanswered_signoff_keeps_both_answers(tmp_path: Path) -> None:
    outbox, released = tmp_path / "outbox", tmp_path / "released"
    draft = _draft(outbox)
    record(released, outbox, _signoff(draft, APPROVE, run_id="r1"))
    again = Signoff(INSPECTION, DAY, draft, REJECT, "officer", "2024-06-04T08:00:00+00:00", "撤回", "r1")
    record(released, outbox, again)
    assert [h["decision"] for h in history(released, INSPECTION, DAY)] == [APPROVE, REJECT]
    assert not (released / INSPECTION / DAY).exists()  # the rejected draft is withdrawn


def test_rejecting_a_newer_draft_keeps_the_released_one(tmp_path: Path) -> None:
    outbox, released = tmp_path / "outbox", tmp_path / "released"
    record(released, outbox, _signoff(_draft(outbox, "第一稿"), APPROVE, run_id="r1"))
    record(released, outbox, _signoff(_draft(outbox, "第二稿"), REJECT, run_id="r2"))
    assert (released / INSPECTION / DAY / "第三批公开情况一览表.csv").read_text(encoding="utf-8") == "第一稿"
