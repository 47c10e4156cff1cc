"""The sign-off DAG's approval task: Airflow's ApprovalOperator, keeping the answer.

On Reject the operator skips what follows by raising inside ``execute_complete`` (Airflow
3's task runner), so its return value — the answer — never reaches XCom. The decision
must be recorded either way, so the answer is pushed first, under ``response``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.providers.standard.operators.hitl import ApprovalOperator

RESPONSE_KEY = "response"


class SignOffOperator(ApprovalOperator):
    def execute_complete(self, context: Any, event: dict[str, Any]) -> Any:
        if "error" not in event:
            at = event.get("responded_at")
            context["ti"].xcom_push(
                key=RESPONSE_KEY,
                value={
                    "chosen_options": list(event.get("chosen_options") or []),
                    "params_input": dict(event.get("params_input") or {}),
                    "responded_at": at.isoformat() if isinstance(at, dt.datetime) else at,
                    "responded_by_user": event.get("responded_by_user"),
                },
            )
        return super().execute_complete(context, event)
