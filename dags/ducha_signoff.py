"""Sign-off (签发) of one day's draft tables by a publisher, then their release."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import Param, dag, task

from ducha.orchestration import default_args, signoff_wait_days
from ducha.signoff_tasks import SignOffOperator

DOC = """
### Sign off a day's tables (签发)

`ducha_publish` writes each day's tables into `outbox/<inspection>/<day>/` as **drafts**
and starts one run of this DAG per draft (conf: `inspection`, `day`, `draft` — the sha256
of the draft's manifest — and `publish_run`). `check_draft` keeps that conf beside the
draft (`outbox/<inspection>/signoff/<day>/<draft>.json`: the 信息公开 page reads the
publish run from there instead of asking Airflow again). The run waits, in Airflow's
human-in-the-loop state, for a publisher to approve or reject it: on the 信息公开 page
(which checks the publisher role of the configuration's `access.yaml`) or in Airflow's
Required Actions.

* **Approve**: the draft is copied, checked file by file, to
  `released/<inspection>/<day>/`; its manifest gains who approved, when, and the comment.
* **Reject**: nothing is released; the decision and its comment are kept in
  `released/<inspection>/history/<day>.json`. Fix the data; the day is published again
  and asks for a new sign-off.

A draft published again before it was signed is not released by an old approval: the
run finds its draft gone and ends without asking, or, if it was already waiting, its
approval fails (`record`) and releases nothing. Only a publisher of `access.yaml` may
approve: when publishers are named there, `record` refuses anyone else's approval, even
one given in Required Actions. A draft nobody answers is rejected after
`signoff.wait_days` (ducha.yaml).

`sign_off` is retried once, and the retry asks again: Airflow 3.3.2's scheduler can fail
an approval task answered within seconds of asking (the executor's late report of the
task's pause reads as "finished while queued"). The page holds back an answer given
within `signoff.settle_seconds` of the request, so this is rare; answers given in
Required Actions are not held back.
"""


@dag(
    dag_id="ducha_signoff",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    max_active_runs=64,  # one waiting run per unsigned day
    tags=["ducha", "publish"],
    doc_md=DOC,
    default_args=default_args(),
)
def ducha_signoff():
    @task
    def check_draft(**context) -> str:
        """The draft this run is for is still the outbox's; the text the publisher sees."""
        from airflow.exceptions import AirflowSkipException

        from ducha.config import data_dirs
        from ducha.disclosure.release import draft_sha, draft_summary, keep_request

        conf = context["dag_run"].conf or {}
        outbox = data_dirs().outbox
        if draft_sha(outbox, conf["inspection"], conf["day"]) != conf["draft"]:
            raise AirflowSkipException("published again since: the newer draft has its own sign-off")
        keep_request(outbox, conf)  # the pages read the publish run from there
        return draft_summary(outbox, conf["inspection"], conf["day"])

    sign_off = SignOffOperator(
        task_id="sign_off",
        subject="签发 {{ dag_run.conf['inspection'] }} {{ dag_run.conf['day'] }}",
        body="{{ ti.xcom_pull(task_ids='check_draft') }}",
        params={"comment": Param("", type="string", title="意见", maxLength=2000)},
        # Airflow 3.3.2 can fail this task when it is answered within seconds of asking
        # (the executor's report of its pause reads as "finished while queued"); the retry
        # asks again instead of failing the run. The answer lost is in Airflow's history.
        retries=1,
        retry_delay=timedelta(seconds=5),
        # Unanswered (a draft superseded while it waited, a day nobody signs): rejected
        # after ducha.yaml `signoff.wait_days`, so runs do not wait for ever.
        response_timeout=timedelta(days=signoff_wait_days()),
        defaults="Reject",
    )
    approved = EmptyOperator(task_id="approved")  # skipped on Reject

    # none_failed: runs after a Reject (which skips `approved`) and when there was nothing
    # to sign; not when the approval task failed (the run fails, and says so).
    @task(trigger_rule="none_failed")
    def record(**context) -> str | None:
        """Keep the decision, approve or reject, and release an approved draft."""
        from ducha.config import data_dirs, load_access
        from ducha.disclosure.release import APPROVE, approver_allowed, signoff_from_response
        from ducha.disclosure.release import record as record_signoff
        from ducha.signoff_tasks import RESPONSE_KEY

        response = context["ti"].xcom_pull(task_ids="sign_off", key=RESPONSE_KEY)
        if not response:
            return None  # no draft to sign (published again since)
        dirs = data_dirs().ensure()
        signoff = signoff_from_response(context["dag_run"].conf or {}, response, context["run_id"])
        if signoff.decision == APPROVE and not approver_allowed(signoff.by, load_access()):
            raise PermissionError(
                f"{signoff.by!r} approved {signoff.inspection_id} {signoff.day} but is not a publisher for "
                "the whole province (access.yaml): nothing is released"
            )
        folder = record_signoff(dirs.released, dirs.outbox, signoff)
        return str(folder) if folder else None

    check_draft() >> sign_off >> approved >> record()


ducha_signoff()
