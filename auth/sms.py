"""Delivering sign-in codes: to the service log for local use, or through an SMS gateway."""

import logging
from typing import Protocol

import httpx

from models.config import Environment, Settings

log = logging.getLogger("healthgraph.sms")


class DeliveryFailed(Exception):
    pass


class CodeSender(Protocol):
    async def send(self, phone: str, code: str) -> None: ...


def message_for(code: str, minutes: int) -> str:
    return f"Ma xac thuc healthgraph cua ban la {code}. Ma co hieu luc {minutes} phut."


class LogSender:
    """Writes the code to the service log: for development and demos only."""

    async def send(self, phone: str, code: str) -> None:
        log.info("sign-in code for %s: %s", phone, code)


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

    async def send(self, phone: str, code: str) -> None:
        body = {"to": "+84" + phone[1:], "text": message_for(code, self.validity_minutes)}
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
    if settings.sms_gateway_url is None:
        if settings.env is Environment.PRODUCTION:
            log.warning("no SMS gateway configured: sign-in codes are written to the log")
        return LogSender()
    return HttpSmsSender(
        settings.sms_gateway_url,
        username=settings.sms_gateway_username,
        password=_secret(settings.sms_gateway_password),
        token=_secret(settings.sms_gateway_token),
        sender_name=settings.sms_sender_name,
        validity_minutes=max(1, settings.otp_ttl_seconds // 60),
    )


def _secret(value: object) -> str | None:
    return value.get_secret_value() if value is not None else None  # type: ignore[attr-defined]
