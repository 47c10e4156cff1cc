"""A real SMTP server (aiosmtpd) on a free local port, for the notice tests, and the
``ducha_smtp`` Airflow connection that reaches it."""

from __future__ import annotations

import email
import email.header
import email.message
import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager

from aiosmtpd.controller import Controller


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # aiosmtpd's hook
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"

    def subjects(self) -> list[str]:
        return [
            str(email.header.make_header(email.header.decode_header(m["Subject"]))) for m in self.messages
        ]


def body(message: email.message.Message) -> str:
    parts = [p for p in message.walk() if p.get_content_type() == "text/html"]
    return parts[0].get_payload(decode=True).decode("utf-8")


@contextmanager
def smtp_server() -> Iterator[tuple[Inbox, str]]:
    """(the inbox, the AIRFLOW_CONN_DUCHA_SMTP value that reaches it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    conn = {
        "conn_type": "smtp",
        "host": "127.0.0.1",
        "port": port,
        "extra": {"disable_ssl": True, "disable_tls": True, "from_email": "ducha@example.org"},
    }
    try:
        yield inbox, json.dumps(conn)
    finally:
        controller.stop()
