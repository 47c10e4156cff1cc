"""Notices to the people who run Ducha (a failed task, the day's deadlines): e-mailed
through the Airflow SMTP connection ``ducha_smtp`` when it is configured and someone is
to receive them, else written to the log, which inside Airflow is the task's log."""

from __future__ import annotations

import html
import logging
import os

from ducha.config import airflow_connection, project_settings

log = logging.getLogger(__name__)

SMTP_CONN_ID = "ducha_smtp"


def recipients() -> list[str]:
    """``DUCHA_NOTIFY_TO`` (comma-separated), else ``notifications.to`` in ducha.yaml."""
    env = os.environ.get("DUCHA_NOTIFY_TO", "").strip()
    if env:
        return [a.strip() for a in env.split(",") if a.strip()]
    return list(project_settings().notifications.to)


def smtp_configured() -> bool:
    """Is there a ``ducha_smtp`` connection (in the environment, or inside a task)?"""
    return airflow_connection(SMTP_CONN_ID) is not None


def notify(subject: str, body: str) -> str:
    """Send the notice; returns where it went: "email" or "log". A configured server
    that refuses the mail raises: the task fails and retries, the notice is not lost."""
    to = recipients()
    if to and smtp_configured():
        from airflow.providers.smtp.hooks.smtp import SmtpHook

        with SmtpHook(smtp_conn_id=SMTP_CONN_ID) as hook:
            hook.send_email_smtp(to=to, subject=subject, html_content=f"<pre>{html.escape(body)}</pre>")
        log.info("notice e-mailed to %s: %s", ", ".join(to), subject)
        return "email"
    log.warning("NOTICE %s\n%s", subject, body)
    return "log"


def task_failed(context: dict) -> None:
    """``on_failure_callback`` of every Ducha task: what failed, where to read why."""
    ti = context.get("ti") or context.get("task_instance")
    dag_id = getattr(ti, "dag_id", "?")
    task_id = getattr(ti, "task_id", "?")
    run_id = getattr(ti, "run_id", "?")
    error = context.get("exception")
    lines = [
        f"DAG {dag_id}, task {task_id}, run {run_id}, try {getattr(ti, 'try_number', '?')} failed.",
        f"Error: {type(error).__name__}: {error}" if error else "Error: (none recorded)",
        f"Log: {getattr(ti, 'log_url', '') or 'see the task log in the Airflow UI'}",
        "Runbook: docs/runbook.md (what each alert means and what to do).",
    ]
    notify(f"[Ducha] task failed: {dag_id}.{task_id} ({run_id})", "\n".join(lines) + "\n")
