"""Fake Twilio REST API: the resources Switchboard touches (Messages: twilio_messages.py).

- ``POST /2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json`` with form
  ``Status=completed`` hangs a call up (pipecat's ``TwilioFrameSerializer``
  does this on ``EndFrame`` when ``auto_hang_up`` is on; so can our code or the
  ``twilio`` package). Answers the call resource JSON. A call that already
  ended (in :attr:`TwilioRestFake.gone_calls`, which a completed hang-up joins)
  gets Twilio's 404 ``{"code": 20404, ...}``, which pipecat treats as "already
  hung up".
- The same ``POST`` with form ``Twiml=<Response>...</Response>`` gives a live call
  new TwiML, as a transfer does: the TwiML is parsed as Twilio does (not XML, not a
  ``<Response>``, an unknown verb, a ``<Dial>`` without a number: 400 with code
  12100, "Document parse failure"), then handed to the emulator bound as
  :attr:`TwilioRestFake.live_calls` (``TwilioEmulator.redirect``), which ends the
  call's stream and runs it (a ``<Dial>``, its ``action`` callback, a new stream).
  A call the emulator does not have gets 404 ``20404``; one that already ended
  (:attr:`gone_calls`) 400 ``21220`` ("Call is not in-progress. Cannot redirect.").
- ``POST /2010-04-01/Accounts/{AccountSid}/Calls.json`` creates an outbound call (a warm
  transfer's call to the person, the agent's own calls), validated as Twilio does: no ``To``
  is 400 code 21201, a ``To`` that is not a number 21211 (and ``refuse_to``: a number
  with its code, 21211, 21215 geo permissions, 21219 unverified on a trial account), no
  ``From`` 21213, neither ``Url`` nor ``Twiml`` 21205, TwiML that does not parse 12100;
  ``fail_create`` injects statuses (429, 500). Created: 201 with the call's JSON (a new
  ``CA...`` sid, ``status`` "queued", ``direction`` "outbound-api"), recorded in
  :attr:`TwilioRestFake.created_calls` and handed to the emulator bound as
  :attr:`TwilioRestFake.outbound` (``TwilioEmulator.dial_out``), which plays the call as
  Twilio would (agent/sim/outbound.py: status callbacks, the answer, its media stream).
  A ``Status=completed``/``canceled`` update of such a call tells the emulator
  (``ended``), which ends its ringing or its stream.
- ``GET /2010-04-01/Accounts/{AccountSid}/Calls.json`` lists the created calls as Twilio's
  Calls list does, filtered by ``To`` and ``StartTime>=`` (or ``StartTime>``, the SDKs'
  spelling; a UTC day), newest first, paged as Twilio pages (twilio_paging.py: ``PageSize``
  up to 1000, ``next_page_uri`` with ``PageToken``, null on the last page;
  ``fail_list_pages`` injects a status for one page): a campaign asks it whether a call was
  made before its worker stopped.
- ``GET /2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json`` fetches one call: a
  created call as the emulator plays it (``status``, ``duration`` once it ended,
  ``answered_by`` once AMD decided), a call that ended ``completed``, a sid that is not a
  call's 404 code 20404, another ``CA...`` sid (an inbound call) ``in-progress``.
- ``GET /2010-04-01/Accounts/{AccountSid}.json``: the account, for a
  credentials check at start-up.

Authentication is HTTP Basic, ``AccountSid:AuthToken`` or ``SKxxx:secret`` (an
API key). Any non-empty password passes unless ``expected_auth_token`` is set;
failures get Twilio's 401 ``{"code": 20003, "message": "Authenticate"}``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Protocol

from aiohttp import web

from agent.sim.dial import TwiMLInvalid, check_twiml, find_dial
from agent.sim.fakes.twilio_messages import TwilioMessagesFake
from agent.sim.fakes.twilio_paging import PagingError, paging, select_page

__all__ = ["CreatedCall", "TwilioHangup", "TwilioRestFake", "TwilioRequest"]

_API = "/2010-04-01/Accounts"
REFUSALS = {
    21211: "Invalid 'To' Phone Number",
    21215: "Account not authorized to call this number (geo permissions)",
    21219: "'To' number not verified (trial account)",
}


@dataclass
class TwilioRequest:
    """One request the fake received."""

    method: str
    path: str
    form: dict[str, str]
    username: str
    auth_ok: bool
    status: int


@dataclass
class TwilioHangup:
    """One call update (normally ``Status=completed``)."""

    account_sid: str
    call_sid: str
    form: dict[str, str]
    auth_ok: bool
    status: int  # the HTTP status the fake answered with
    at: float = 0.0  # the event loop's time when the request arrived


class LiveCalls(Protocol):
    """The calls in progress, as the REST API can change them (the Twilio emulator)."""

    def redirect(self, call_sid: str, twiml: str) -> bool:
        """Run `twiml` on the live call; False if there is no such call in progress."""
        ...


class OutboundCalls(Protocol):
    """Where created calls go on (the Twilio emulator plays them)."""

    def dial_out(self, call_sid: str, account_sid: str, form: dict[str, list[str]]) -> None:
        """Play the new call `call_sid` (every form value, repeated keys kept)."""
        ...

    def ended(self, call_sid: str, status: str) -> bool:
        """The REST API set the call to `status` (completed, canceled); False if unknown."""
        ...

    def call_state(self, call_sid: str) -> dict | None:
        """The call's `status`, `duration` (once ended) and `answered_by` now; None if the
        call is not one this emulator plays."""
        ...


@dataclass
class CreatedCall:
    """One call creation request that the fake accepted."""

    account_sid: str
    call_sid: str
    form: dict[str, list[str]]  # repeated keys (StatusCallbackEvent) kept
    at: float = 0.0
    created: datetime | None = None  # wall clock (UTC): the Calls list's date_created

    def value(self, key: str) -> str | None:
        values = self.form.get(key)
        return values[0] if values else None


@dataclass(eq=False)  # a running service: compared and hashed by identity
class TwilioRestFake:
    """Settings (change them at any time) and records of the fake Twilio REST API."""

    expected_auth_token: str | None = None  # None: any non-empty password passes
    gone_calls: set[str] = field(default_factory=set)  # CallSids that answer 404
    end_calls_on_hangup: bool = True  # a completed call is gone, as on Twilio
    fail_next: list[int] = field(default_factory=list)  # statuses (500, 503, 429) for updates
    requests: list[TwilioRequest] = field(default_factory=list)
    hangups: list[TwilioHangup] = field(default_factory=list)  # every call update
    messages: TwilioMessagesFake = field(default_factory=TwilioMessagesFake)  # SMS
    # The emulator whose calls a TwiML update acts on (None: updates are only recorded).
    live_calls: LiveCalls | None = None
    # Call creation: injected failures, the calls made, and who plays them (the emulator).
    fail_create: list[int] = field(default_factory=list)
    # To numbers Twilio refuses, with its code: 21211 (invalid), 21215 (the account's geo
    # permissions do not reach it), 21219 (a trial account, not a verified number)
    refuse_to: dict[str, int] = field(default_factory=dict)
    created_calls: list[CreatedCall] = field(default_factory=list)
    create_requests: list[TwilioRequest] = field(default_factory=list)
    outbound: OutboundCalls | None = None
    # The Calls list: page number (0-based) -> a status its next request gets (once)
    fail_list_pages: dict[int, int] = field(default_factory=dict)

    @property
    def twiml_updates(self) -> list[TwilioHangup]:
        """The updates that gave a call new TwiML (``Twiml=``), whatever the answer."""
        return [h for h in self.hangups if "Twiml" in h.form]

    @property
    def hangup_count(self) -> int:
        return sum(1 for h in self.hangups if h.status == 200)

    def hung_up(self, call_sid: str) -> bool:
        """Whether ``call_sid`` was successfully set to completed."""
        return any(
            h.call_sid == call_sid and h.status == 200 and h.form.get("Status") == "completed"
            for h in self.hangups
        )

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post(_API + "/{account}/Calls.json", self.create_call)
        app.router.add_post(_API + "/{account}/Calls/{call}.json", self.update_call)
        app.router.add_get(_API + "/{account}/Calls/{call}.json", self.fetch_call)
        app.router.add_get(_API + "/{account}/Calls.json", self.list_calls)
        app.router.add_get(_API + "/{account}.json", self.fetch_account)
        self.messages.add_routes(app, self._authenticate)

    async def shutdown(self) -> None:
        pass

    async def update_call(self, request: web.Request) -> web.Response:
        account, call = request.match_info["account"], request.match_info["call"]
        form = {k: str(v) for k, v in (await request.post()).items()}
        username, ok = self._authenticate(request, account)
        if not ok:
            status, response = 401, _authenticate_error()
        elif self.fail_next:
            status = self.fail_next.pop(0)
            body = {"code": 20500, "message": "Internal Server Error (fault injected)"}
            response = web.json_response({**body, "status": status}, status=status)
        elif "Twiml" in form:
            status, response = self._new_twiml(request.path, call, form["Twiml"])
        elif call in self.gone_calls:
            status, response = 404, _not_found(request.path)
        else:
            status = 200
            call_status = form.get("Status", "in-progress")
            if call_status in ("completed", "canceled") and self.end_calls_on_hangup:
                self.gone_calls.add(call)
            if call_status in ("completed", "canceled") and self.outbound is not None:
                self.outbound.ended(call, call_status)
            response = web.json_response(_call(account, call, call_status))
        at = asyncio.get_running_loop().time()
        self.hangups.append(TwilioHangup(account, call, form, ok, status, at))
        self.requests.append(TwilioRequest("POST", request.path, form, username, ok, status))
        return response

    def _new_twiml(self, path: str, call: str, twiml: str) -> tuple[int, web.Response]:
        try:
            find_dial(check_twiml(twiml))
        except TwiMLInvalid as exc:
            return 400, _error(400, 12100, f"Document parse failure: {exc}")
        if call in self.gone_calls:
            return 400, _error(400, 21220, "Call is not in-progress. Cannot redirect.")
        if self.live_calls is not None and not self.live_calls.redirect(call, twiml):
            return 404, _not_found(path)
        account = path.split("/")[3]
        return 200, web.json_response(_call(account, call, "in-progress"))

    async def create_call(self, request: web.Request) -> web.Response:
        account = request.match_info["account"]
        posted = await request.post()
        form = {k: [str(v) for v in posted.getall(k)] for k in posted}
        flat = {k: v[0] for k, v in form.items()}
        username, ok = self._authenticate(request, account)
        status, response = self._create(account, form, ok)
        self.create_requests.append(TwilioRequest("POST", request.path, flat, username, ok, status))
        self.requests.append(TwilioRequest("POST", request.path, flat, username, ok, status))
        return response

    def _create(self, account: str, form: dict[str, list[str]], ok: bool):
        value = {k: v[0] for k, v in form.items()}
        if not ok:
            return 401, _authenticate_error()
        if self.fail_create:
            status = self.fail_create.pop(0)
            code = 20429 if status == 429 else 20500
            return status, _error(status, code, "Fault injected")
        if not value.get("To"):
            return 400, _error(400, 21201, "No 'To' number is specified")
        if not re.match(r"^(\+[1-9][0-9]{6,14}|client:.+|sip:.+)$", value["To"]):
            return 400, _error(400, 21211, f"Invalid 'To' Phone Number: {value['To']}")
        if value["To"] in self.refuse_to:
            code = self.refuse_to[value["To"]]
            return 400, _error(400, code, REFUSALS.get(code, "Refused") + f": {value['To']}")
        if not value.get("From"):
            return 400, _error(400, 21213, "No 'From' number is specified")
        if not (value.get("Url") or value.get("Twiml") or value.get("ApplicationSid")):
            return 400, _error(400, 21205, "Url parameter is required")
        if value.get("Twiml"):
            try:
                check_twiml(value["Twiml"])
            except TwiMLInvalid as exc:
                return 400, _error(400, 12100, f"Document parse failure: {exc}")
        call = "CA" + secrets.token_hex(16)
        at = asyncio.get_running_loop().time()
        self.created_calls.append(CreatedCall(account, call, form, at, datetime.now(UTC)))
        if self.outbound is not None:
            self.outbound.dial_out(call, account, form)
        body = _call(account, call, "queued") | {
            "direction": "outbound-api",
            "to": value["To"],
            "from": value["From"],
            "start_time": None,
        }
        return 201, web.json_response(body, status=201)

    async def fetch_call(self, request: web.Request) -> web.Response:
        account, call = request.match_info["account"], request.match_info["call"]
        username, ok = self._authenticate(request, account)
        status = 401 if not ok else 200
        self.requests.append(TwilioRequest("GET", request.path, {}, username, ok, status))
        if not ok:
            return _authenticate_error()
        created = next((c for c in self.created_calls if c.call_sid == call), None)
        if created is not None:
            return web.json_response(self._created_state(account, created))
        if call in self.gone_calls:
            return web.json_response(_call(account, call, "completed"))
        if not re.fullmatch(r"CA[0-9a-f]{32}", call):
            return _not_found(request.path)
        return web.json_response(_call(account, call, "in-progress"))  # a live inbound call

    def _created_state(self, account: str, created: CreatedCall) -> dict:
        """A created call as the emulator plays it (status, duration, AMD's verdict)."""
        state = self.outbound.call_state(created.call_sid) if self.outbound is not None else None
        if state is None:
            gone = created.call_sid in self.gone_calls
            state = {"status": "completed" if gone else "queued", "duration": None}
        final = state["status"] not in ("queued", "initiated", "ringing", "in-progress")
        return _call(account, created.call_sid, state["status"]) | {
            "direction": "outbound-api",
            "to": created.value("To"),
            "from": created.value("From"),
            "duration": state.get("duration") if final else None,
            "end_time": _rfc2822() if final else None,
            "answered_by": state.get("answered_by"),
        }

    async def list_calls(self, request: web.Request) -> web.Response:
        """The Calls list, as Twilio filters it: To, StartTime>= (also `StartTime>`, the SDKs'
        spelling; a YYYY-MM-DD day in UTC), newest first, paged (agent/sim/fakes/
        twilio_paging.py: PageSize, Page, PageToken, next_page_uri)."""
        account = request.match_info["account"]
        username, ok = self._authenticate(request, account)
        status, response = self._list_calls(request, account, ok)
        self.requests.append(
            TwilioRequest("GET", request.path, dict(request.query), username, ok, status)
        )
        return response

    def _list_calls(self, request: web.Request, account: str, ok: bool):
        if not ok:
            return 401, _authenticate_error()
        query = request.query
        since = query.get("StartTime>=") or query.get("StartTime>")
        try:
            day = datetime.strptime(since[:10], "%Y-%m-%d").date() if since else None
        except ValueError:
            return 400, _error(400, 20001, "Invalid StartTime")
        calls = [
            c
            for c in self.created_calls
            if c.account_sid == account
            and (not query.get("To") or c.value("To") == query["To"])
            and (day is None or (c.created is not None and c.created.date() >= day))
        ]
        calls.sort(key=lambda c: (c.created or datetime.min.replace(tzinfo=UTC), c.at))
        calls.reverse()
        try:
            page = select_page([c.call_sid for c in calls], query)
        except PagingError as exc:
            return exc.status, _error(exc.status, exc.code, str(exc))
        if page.number in self.fail_list_pages:
            status = self.fail_list_pages.pop(page.number)
            return status, _error(status, 20500, "Internal Server Error (fault injected)")
        by_sid = {c.call_sid: c for c in calls}
        rows = []
        for sid in page.sids:
            c = by_sid[sid]
            status = "completed" if c.call_sid in self.gone_calls else "in-progress"
            started = format_datetime(c.created) if c.created else None
            rows.append(
                _call(account, c.call_sid, status)
                | {
                    "direction": "outbound-api",
                    "to": c.value("To"),
                    "from": c.value("From"),
                    "date_created": started,
                    "start_time": started,
                }
            )
        return 200, web.json_response({"calls": rows} | paging(request.path, query, page))

    async def fetch_account(self, request: web.Request) -> web.Response:
        account = request.match_info["account"]
        username, ok = self._authenticate(request, account)
        self.requests.append(
            TwilioRequest("GET", request.path, {}, username, ok, 200 if ok else 401)
        )
        if not ok:
            return _authenticate_error()
        now = _rfc2822()
        return web.json_response(
            {
                "sid": account,
                "owner_account_sid": account,
                "friendly_name": "Switchboard fake account",
                "status": "active",
                "type": "Full",
                "date_created": now,
                "date_updated": now,
                "auth_token": "[redacted]",
                "uri": f"{_API}/{account}.json",
                "subresource_uris": {"calls": f"{_API}/{account}/Calls.json"},
            }
        )

    def _authenticate(self, request: web.Request, account: str) -> tuple[str, bool]:
        """(username, ok) for the request's Basic credentials."""
        scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return "", False
        try:
            username, _, password = base64.b64decode(encoded).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return "", False
        # The username is the account itself or one of its API keys (SK...).
        user_ok = username == account or username.startswith("SK")
        if self.expected_auth_token is not None:
            return username, user_ok and password == self.expected_auth_token
        return username, user_ok and bool(password)


def _rfc2822() -> str:
    return format_datetime(datetime.now(UTC))


def _call(account: str, call: str, status: str) -> dict:
    now = _rfc2822()
    return {
        "sid": call,
        "account_sid": account,
        "status": status,
        "direction": "inbound",
        "from": "+15555550100",
        "to": "+15555550199",
        "date_created": now,
        "date_updated": now,
        "start_time": now,
        "end_time": now if status == "completed" else None,
        "duration": "0" if status == "completed" else None,
        "api_version": "2010-04-01",
        "uri": f"{_API}/{account}/Calls/{call}.json",
    }


def _authenticate_error() -> web.Response:
    body = {
        "code": 20003,
        "message": "Authenticate",
        "more_info": "https://www.twilio.com/docs/errors/20003",
        "status": 401,
    }
    return web.json_response(
        body, status=401, headers={"WWW-Authenticate": 'Basic realm="Twilio API"'}
    )


def _error(status: int, code: int, message: str) -> web.Response:
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return web.json_response(body, status=status)


def _not_found(path: str) -> web.Response:
    body = {
        "code": 20404,
        "message": f"The requested resource {path} was not found",
        "more_info": "https://www.twilio.com/docs/errors/20404",
        "status": 404,
    }
    return web.json_response(body, status=404)
