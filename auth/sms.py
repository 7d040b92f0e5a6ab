"""Delivering sign-in codes: through an SMS gateway, or for local use to an outbox file.

A code never goes to the log: whoever reads the log could sign in as anyone. In
production a gateway is required and the service refuses to start without one.
"""

import asyncio
import logging
import os
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Protocol

import httpx

from models.config import Environment, Settings

log = logging.getLogger("healthgraph.sms")


class DeliveryFailed(Exception):
    pass


class CodePurpose(StrEnum):
    SIGN_IN = "SIGN_IN"
    # A province office is adding this phone to a citizen: the person reads the code out.
    ADD_PHONE = "ADD_PHONE"


class CodeSender(Protocol):
    async def send(
        self, phone: str, code: str, purpose: CodePurpose = CodePurpose.SIGN_IN
    ) -> None: ...


def message_for(code: str, minutes: int, purpose: CodePurpose = CodePurpose.SIGN_IN) -> str:
    if purpose is CodePurpose.ADD_PHONE:
        return (
            f"Ma xac nhan so dien thoai healthgraph: {code}. Chi doc ma nay cho can bo y te "
            f"dang them so nay vao ho so cua ban. Ma co hieu luc {minutes} phut."
        )
    return f"Ma xac thuc healthgraph cua ban la {code}. Ma co hieu luc {minutes} phut."


class MisconfiguredSignIn(RuntimeError):
    pass


class OutboxSender:
    """Appends each message to a file only its owner reads: for development and demos."""

    def __init__(self, path: Path, validity_minutes: int = 5) -> None:
        self.path = path
        self.validity_minutes = validity_minutes

    async def send(self, phone: str, code: str, purpose: CodePurpose = CodePurpose.SIGN_IN) -> None:
        text = message_for(code, self.validity_minutes, purpose)
        line = f"{datetime.now(UTC).isoformat()} to {phone}: {text}\n"
        await asyncio.to_thread(self._append, line)

    def _append(self, line: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a") as outbox:
            outbox.write(line)


def outbox_path(settings: Settings) -> Path:
    return settings.data_dir / "sms-outbox.txt"


def sign_in_settings_check(settings: Settings) -> None:
    """Refuse to serve in production without a way to deliver codes privately."""
    if settings.env is Environment.PRODUCTION and settings.sms_gateway_url is None:
        raise MisconfiguredSignIn(
            "HEALTHGRAPH_ENV=production needs HEALTHGRAPH_SMS_GATEWAY_URL: without an SMS "
            "gateway, sign-in codes could only be written where others can read them"
        )


class HttpSmsSender:
    """POSTs {"to", "text"} as JSON to an SMS gateway, with basic or bearer credentials."""

    def __init__(
        self,
        url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        token: str | None = None,
        sender_name: str | None = None,
        validity_minutes: int = 5,
        timeout: float = 5.0,
    ) -> None:
        self.url = url
        self.auth = httpx.BasicAuth(username, password or "") if username else None
        self.headers = {"authorization": f"Bearer {token}"} if token else {}
        self.sender_name = sender_name
        self.validity_minutes = validity_minutes
        self.timeout = timeout

    async def send(self, phone: str, code: str, purpose: CodePurpose = CodePurpose.SIGN_IN) -> None:
        text = message_for(code, self.validity_minutes, purpose)
        body = {"to": "+84" + phone[1:], "text": text}
        if self.sender_name:
            body["from"] = self.sender_name
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as http:
                response = await http.post(
                    self.url,
                    json=body,
                    auth=self.auth or httpx.USE_CLIENT_DEFAULT,
                    headers=self.headers,
                )
        except httpx.HTTPError as error:
            raise DeliveryFailed(f"SMS gateway unreachable: {error.__class__.__name__}") from error
        if response.is_error:
            raise DeliveryFailed(f"SMS gateway answered {response.status_code}")


def sender_from_settings(settings: Settings) -> CodeSender:
    sign_in_settings_check(settings)
    validity_minutes = max(1, settings.otp_ttl_seconds // 60)
    if settings.sms_gateway_url is None:
        return OutboxSender(outbox_path(settings), validity_minutes)
    return HttpSmsSender(
        settings.sms_gateway_url,
        username=settings.sms_gateway_username,
        password=_secret(settings.sms_gateway_password),
        token=_secret(settings.sms_gateway_token),
        sender_name=settings.sms_sender_name,
        validity_minutes=validity_minutes,
    )


def _secret(value: object) -> str | None:
    return value.get_secret_value() if value is not None else None  # type: ignore[attr-defined]
