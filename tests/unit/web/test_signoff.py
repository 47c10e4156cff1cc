"""The pages' answer to a sign-off: held back until Airflow can take it safely."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from ducha.web import signoff

NOW = dt.datetime(2026, 11, 29, 8, 0, 0, tzinfo=dt.UTC)


def test_an_answer_within_the_settle_time_waits_out_the_rest() -> None:
    assert signoff.settle_wait({"created_at": "2026-11-29T07:59:57Z"}, NOW, 10) == pytest.approx(7.0)
    assert signoff.settle_wait({"created_at": "2026-11-29T07:59:57.500000+00:00"}, NOW, 10) == pytest.approx(
        7.5
    )
    assert signoff.settle_wait({"created_at": "2026-11-29T07:59:00Z"}, NOW, 10) == 0.0
    assert signoff.settle_wait({"created_at": "2026-11-29T07:59:59Z"}, NOW, 0) == 0.0


def test_a_retried_request_counts_from_its_tries_start() -> None:
    """A retry keeps the request (and its created_at) but starts anew."""
    detail = {"created_at": "2026-11-29T07:50:00Z", "task_instance": {"start_date": "2026-11-29T07:59:58Z"}}
    assert signoff.settle_wait(detail, NOW, 10) == pytest.approx(8.0)
    detail["task_instance"]["start_date"] = None
    assert signoff.settle_wait(detail, NOW, 10) == 0.0
    assert signoff.settle_wait({}, NOW, 10) == 10.0  # no time given: as if asked just now


class _Airflow:
    """Airflow's hitlDetails route as the page sees it: what was asked, in order."""

    def __init__(self, detail: dict) -> None:
        self.detail = detail
        self.calls: list[tuple[str, object]] = []

    def get(self, url: str, **_: object) -> httpx.Response:
        self.calls.append(("get", None))
        return httpx.Response(200, json=self.detail, request=httpx.Request("GET", url))

    def patch(self, url: str, json: dict, **_: object) -> httpx.Response:
        self.calls.append(("patch", json))
        return httpx.Response(200, json={}, request=httpx.Request("PATCH", url))

    def sleep(self, seconds: float) -> None:
        self.calls.append(("sleep", seconds))


@pytest.fixture
def airflow(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    def serve(detail: dict) -> _Airflow:
        fake = _Airflow(detail)
        monkeypatch.setattr(httpx, "get", fake.get)
        monkeypatch.setattr(httpx, "patch", fake.patch)
        monkeypatch.setattr(signoff.time, "sleep", fake.sleep)
        return fake

    return serve


def test_a_quick_answer_is_sent_after_the_settle_time(airflow) -> None:  # type: ignore[no-untyped-def]
    created = (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=2)).isoformat()
    fake = airflow({"created_at": created, "response_received": False})
    signoff.answer("http://af", "t", "c3-hn-2024", "2024-06-03", "a" * 64, True, "同意", settle_seconds=10)
    (get, _), (sleep, waited), (patch, body) = fake.calls
    assert (get, sleep, patch) == ("get", "sleep", "patch")
    assert 7.0 < waited <= 8.0  # type: ignore[operator]
    assert body == {"chosen_options": ["Approve"], "params_input": {"comment": "同意"}}


def test_an_answered_request_is_not_answered_again(airflow) -> None:  # type: ignore[no-untyped-def]
    fake = airflow({"created_at": "2026-11-29T07:00:00Z", "response_received": True})
    with pytest.raises(signoff.SignoffError, match="已有签发意见"):
        signoff.answer(
            "http://af", "t", "c3-hn-2024", "2024-06-03", "a" * 64, False, "退回", settle_seconds=10
        )
    assert [c for c, _ in fake.calls] == ["get"]
