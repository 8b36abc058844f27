"""Fake Twilio Messages resource: sending an SMS, as Twilio documents it.

``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` with form ``To``, ``From``,
``Body`` answers ``201`` and the message resource (``sid`` ``SM...``, ``status: queued``).
Registered on the Twilio REST fake's app (agent/sim/fakes/twilio_rest.py), sharing its
authentication (HTTP Basic; 401 ``{"code": 20003}``).

Twilio's errors, with its codes and statuses:

    400 21604  no To                        400 21211  To is not a valid phone number
    400 21603  no From                      400 21606  From is not a number of this account
    400 21602  no Body                                 that can send (see ``sending_numbers``)
    400 21617  Body longer than 1600 characters

Scriptable: ``fail_next`` (statuses such as 500, 503, 429 answered to the next requests,
one each, before anything else is checked but authentication), ``sending_numbers`` (the
From numbers the account owns; None: any valid E.164 number), ``sent`` (every message
accepted) and ``requests`` (every request, with the status answered).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime

from aiohttp import web

_API = "/2010-04-01/Accounts"
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
MAX_BODY = 1600


@dataclass
class FakeMessage:
    """One message the fake accepted."""

    sid: str
    account_sid: str
    to: str
    from_: str
    body: str


@dataclass
class MessageRequest:
    """One request to the Messages resource, and what the fake answered."""

    account_sid: str
    form: dict[str, str]
    auth_ok: bool
    status: int
    code: int | None = None


@dataclass(eq=False)
class TwilioMessagesFake:
    """Settings (change them at any time) and records of the fake Messages resource."""

    sending_numbers: set[str] | None = None  # None: any valid E.164 From
    fail_next: list[int] = field(default_factory=list)
    sent: list[FakeMessage] = field(default_factory=list)
    requests: list[MessageRequest] = field(default_factory=list)

    def add_routes(
        self, app: web.Application, authenticate: Callable[[web.Request, str], tuple[str, bool]]
    ) -> None:
        self._authenticate = authenticate
        app.router.add_post(_API + "/{account}/Messages.json", self.create)

    async def create(self, request: web.Request) -> web.Response:
        account = request.match_info["account"]
        form = {k: str(v) for k, v in (await request.post()).items()}
        _, ok = self._authenticate(request, account)
        if not ok:
            return self._answer(account, form, ok, 401, 20003, "Authenticate")
        if self.fail_next:
            status = self.fail_next.pop(0)
            message = "Too Many Requests" if status == 429 else "Internal Server Error"
            return self._answer(
                account, form, ok, status, 20429 if status == 429 else 20500, message
            )
        to, from_, body = form.get("To", ""), form.get("From", ""), form.get("Body", "")
        if not to:
            return self._answer(account, form, ok, 400, 21604, "A 'To' phone number is required.")
        if not E164.match(to):
            return self._answer(account, form, ok, 400, 21211, f"Invalid 'To' Phone Number: {to}")
        if not from_:
            return self._answer(account, form, ok, 400, 21603, "A 'From' phone number is required.")
        owned = self.sending_numbers
        if not E164.match(from_) or (owned is not None and from_ not in owned):
            return self._answer(
                account,
                form,
                ok,
                400,
                21606,
                f"The From phone number {from_} is not a valid, SMS-capable inbound phone "
                "number or short code for your account.",
            )
        if not body:
            return self._answer(account, form, ok, 400, 21602, "Message body is required.")
        if len(body) > MAX_BODY:
            return self._answer(
                account,
                form,
                ok,
                400,
                21617,
                "The concatenated message body exceeds the 1600 character limit.",
            )
        sid = "SM" + secrets.token_hex(16)
        self.sent.append(FakeMessage(sid, account, to, from_, body))
        self.requests.append(MessageRequest(account, form, ok, 201))
        now = format_datetime(datetime.now(UTC))
        return web.json_response(
            {
                "sid": sid,
                "account_sid": account,
                "to": to,
                "from": from_,
                "body": body,
                "status": "queued",
                "direction": "outbound-api",
                "num_segments": str(max(1, -(-len(body) // 153))),
                "num_media": "0",
                "price": None,
                "price_unit": "USD",
                "error_code": None,
                "error_message": None,
                "date_created": now,
                "date_updated": now,
                "date_sent": None,
                "messaging_service_sid": None,
                "api_version": "2010-04-01",
                "uri": f"{_API}/{account}/Messages/{sid}.json",
            },
            status=201,
        )

    def _answer(
        self, account: str, form: dict, ok: bool, status: int, code: int, message: str
    ) -> web.Response:
        self.requests.append(MessageRequest(account, form, ok, status, code))
        body = {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        }
        headers = {"WWW-Authenticate": 'Basic realm="Twilio API"'} if status == 401 else None
        return web.json_response(body, status=status, headers=headers)
