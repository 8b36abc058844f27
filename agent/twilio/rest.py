"""The Twilio REST API client: one per server process, everything we ask of Twilio's API.

`TwilioRestClient(account_sid, auth_token, base_url)` owns one HTTP session and the requests
still in flight (a hang-up retrying after its call's socket closed); `close()` ends them.

    client.call(call_sid, account_sid) -> CallResource | None    one live call's resource
        .hang_up()              POST Status=completed, retried (below); 20404 counts as done
        .hang_up_in_background()  the same as a tracked task: the call's socket closes at once
        .update(twiml=...)      POST Twiml=... (a transfer's <Dial>), retried like the hang-up;
                                20404 here means the call is gone: not a success
    client.send_message(to, from_, body) -> MessageResult    one SMS, one attempt
    client.create_call(to, from_, twiml=..., ...) -> CreateCallResult   an outbound call
        (a warm transfer's leg to the person, the agent's own calls: agent/outbound, with
        asynchronous answering-machine detection); retried only where no call can have been
        made (below)
        .cancel()               on a CallResource: POST Status=canceled (a call still
                                queued or ringing), retried like the hang-up
    client.list_calls(to=..., started_since=date, until=...) -> CallListing   the calls to a
        number started on or after a day (UTC): GET `Calls.json?To=...&StartTime>=...`, then
        each `next_page_uri` (relative to the API's host, authenticated like the first) until
        a call satisfies `until` or the pages end; at most LIST_MAX_PAGES pages (more: not
        ok, logged), one attempt per page, a failed page fails the listing (a campaign asks
        it whether a call was made: agent/campaigns/recovery.py)
    client.fetch_call(call_sid) -> CallState   one call's status, duration and AMD verdict
        now (GET `Calls/{sid}.json`), one attempt: a campaign asks it when a call's final
        status callback never came (agent/campaigns/worker.py)
    client.wait_for_pending(timeout)   server drain: let in-flight requests finish

Where new API work goes: what acts on one live call (the hang-up, an update with TwiML)
is a `CallResource` method; what acts on the account (creating an outbound call, sending a
message) is a `TwilioRestClient` method. TwiML itself comes from agent/twilio/twiml.py.

Hang-up policy: a 5xx, a 429 or a network error is retried with backoff (HANGUP_BACKOFF_S:
about 3.5 s in all); a refused credential (other 4xx) is not retried; 404 with Twilio's code
20404 means the call already ended, which is success. Nothing raises: the `HangUpResult`
says what happened.

Message policy: `send_message` makes ONE attempt (POST `Messages.json` with To, From, Body)
and says whether another would make sense (`retryable`: 5xx, 429, a network error or a
timeout); whoever sends keeps the message and retries on its own clock
(agent/records/outbox.py). Twilio's own errors come back with their code: 21211 (invalid
To), 21606 (From is not a number of this account that can send), 20003 (credentials).

Call creation policy: never two calls for one request. A refused connection (nothing was
sent) and a 429 (Twilio made nothing) are retried with the hang-up's backoff; a 5xx, a
timeout or a connection lost after sending may have created the call and are not retried
(the result is `failed`, `retryable` False). Errors keep Twilio's code: 21201 (no To),
21205 (Url or Twiml missing/invalid), 21213 (no From), 21210/21212 (From not yours or not a
number), 20003 (credentials).

The serializer asks for a hang-up through the `CallHangUp` protocol, so it knows no HTTP.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Protocol

import aiohttp
from loguru import logger

from agent.logging_setup import phone_hint
from agent.twilio.rest_results import (
    CallListing,
    CallState,
    CreateCallResult,
    HangUpResult,
    MessageResult,
    masked_numbers,
)

HANGUP_BACKOFF_S = (0.25, 0.75, 2.5)  # waits between the 4 attempts
REQUEST_TIMEOUT_S = 5.0
API_VERSION = "2010-04-01"
LIST_PAGE_SIZE = 100  # Twilio's default is 50, its maximum 1000
LIST_MAX_PAGES = 20  # 2,000 calls to one number in a day: beyond that, "not known"


class CallHangUp(Protocol):
    """What a call's serializer needs from the REST API: end this call, without waiting."""

    def hang_up_in_background(self) -> asyncio.Task[HangUpResult]: ...


class TwilioRestClient:
    """Twilio's REST API for this process (credentials, base URL, one session, pending work)."""

    def __init__(
        self,
        account_sid: str | None,
        auth_token: str | None,
        base_url: str,
        *,
        backoff_s: tuple[float, ...] = HANGUP_BACKOFF_S,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ):
        self._account_sid = account_sid or None
        self._auth_token = auth_token or None
        self._root = base_url.rstrip("/")
        self._backoff_s = backoff_s
        self._sleep = sleep
        self._session: aiohttp.ClientSession | None = None
        self._pending: set[asyncio.Task] = set()

    def __repr__(self) -> str:  # never the token
        return f"TwilioRestClient({self._root}, account={self._account_sid or '-'})"

    def call(self, call_sid: str, account_sid: str | None = None) -> CallResource | None:
        """A live call's resource; None without credentials (the account: ours, else the call's)."""
        account = self._account_sid or account_sid
        if not (account and self._auth_token and call_sid):
            return None
        return CallResource(self, account, call_sid)

    async def wait_for_pending(self, timeout: float) -> int:
        """Let requests still in flight finish (server shutdown); how many were left."""
        pending = list(self._pending)
        if pending:
            await asyncio.wait(pending, timeout=timeout)
        return sum(not t.done() for t in pending)

    async def close(self) -> None:
        """Cancel what is still in flight and close the HTTP session."""
        for task in list(self._pending):
            task.cancel()
        if self._pending:
            await asyncio.wait(list(self._pending))
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- requests ---------------------------------------------------------------------------

    def track(self, task: asyncio.Task) -> asyncio.Task:
        """Keep `task` among the requests in flight until it is done."""
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
        return task

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
            )
        return self._session

    def _url(self, account_sid: str, resource: str) -> str:
        return f"{self._root}/{API_VERSION}/Accounts/{account_sid}/{resource}"

    async def _post(
        self, account_sid: str, resource: str, form: dict | list[tuple[str, str]]
    ) -> tuple[int, dict]:
        """POST a form; (status, JSON body or {}). Raises aiohttp/timeout/JSON errors."""
        auth = aiohttp.BasicAuth(account_sid, self._auth_token or "")
        async with self._http().post(self._url(account_sid, resource), auth=auth, data=form) as r:
            body = await r.json(content_type=None) if r.status != 200 else {}
            return r.status, body if isinstance(body, dict) else {}

    async def list_calls(
        self,
        *,
        to: str,
        started_since: date,
        account_sid: str | None = None,
        page_size: int = LIST_PAGE_SIZE,
        max_pages: int = LIST_MAX_PAGES,
        until: Callable[[dict], bool] | None = None,
    ) -> CallListing:
        """GET `Calls.json` filtered by To and StartTime>= (a UTC day, as Twilio takes it),
        following `next_page_uri` until a call satisfies `until`, the pages end, or
        `max_pages` were read with more to come (then not ok: what was not read is not
        known). Every page is authenticated like the first; one attempt each; a page that
        fails makes the whole listing fail. Never raises."""
        account = self._account_sid or account_sid
        if not (account and self._auth_token):
            return CallListing(False, error="no Twilio credentials (TWILIO_ACCOUNT_SID/TOKEN)")
        query = {"To": to, "StartTime>": started_since.isoformat(), "PageSize": str(page_size)}
        url: str | None = self._url(account, "Calls.json")
        auth = aiohttp.BasicAuth(account, self._auth_token)
        calls: list[dict] = []
        pages = 0
        while url is not None:
            if pages == max_pages:
                why = f"more than {max_pages} pages of {page_size} calls; the rest was not read"
                logger.warning(f"Twilio's Calls list to {phone_hint(to)}: {why}")
                return CallListing(False, tuple(calls), why, pages)
            try:
                async with self._http().get(url, auth=auth, params=query) as r:
                    body = await r.json(content_type=None)
                    status = r.status
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                why = f"page {pages + 1}: {type(exc).__name__}: {exc}"[:200]
                return CallListing(False, tuple(calls), why, pages)
            page = body.get("calls") if isinstance(body, dict) else None
            if status != 200 or not isinstance(page, list):
                code = body.get("code") if isinstance(body, dict) else None
                why = f"HTTP {status}" + (f" code {code}" if code else "")
                return CallListing(False, tuple(calls), f"page {pages + 1}: {why}", pages)
            pages += 1
            found = [c for c in page if isinstance(c, dict)]
            calls += found
            if until is not None and any(until(c) for c in found):
                break
            url, query = body.get("next_page_uri"), {}  # its query is in the URI
            if url is not None:
                if not (isinstance(url, str) and url.startswith("/") and not url.startswith("//")):
                    why = f"page {pages}: unexpected next_page_uri {str(url)[:80]!r}"
                    return CallListing(False, tuple(calls), why, pages)
                url = self._root + url  # relative to the API's host, with its query
        return CallListing(True, tuple(calls), "", pages)

    async def fetch_call(self, call_sid: str, account_sid: str | None = None) -> CallState:
        """GET `Calls/{sid}.json`: the call's status, duration and AMD verdict now. One
        attempt; never raises (a campaign asks again later: agent/campaigns/worker.py)."""
        account = self._account_sid or account_sid
        if not (account and self._auth_token):
            return CallState(False, error="no Twilio credentials (TWILIO_ACCOUNT_SID/TOKEN)")
        auth = aiohttp.BasicAuth(account, self._auth_token)
        try:
            async with self._http().get(
                self._url(account, f"Calls/{call_sid}.json"), auth=auth
            ) as r:
                body = await r.json(content_type=None)
                status = r.status
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            return CallState(False, error=f"{type(exc).__name__}: {exc}"[:200])
        if not isinstance(body, dict):
            return CallState(False, error=f"HTTP {status}: not a call resource")
        if status != 200 or not isinstance(body.get("status"), str):
            code = body.get("code")
            return CallState(False, error=f"HTTP {status}" + (f" code {code}" if code else ""))
        try:
            duration = float(body["duration"]) if body.get("duration") is not None else None
        except (TypeError, ValueError):
            duration = None
        answered_by = body.get("answered_by")
        return CallState(
            True, body["status"], duration, answered_by if isinstance(answered_by, str) else None
        )

    async def hang_up_call(self, account_sid: str, call_sid: str) -> HangUpResult:
        """POST Status=completed to the call, retried (module docstring); never raises."""
        return await self._update_call(account_sid, call_sid, {"Status": "completed"}, "hang-up")

    async def update_call(self, account_sid: str, call_sid: str, twiml: str) -> HangUpResult:
        """POST Twiml=... to the call (its current TwiML stops, this runs), retried like the
        hang-up; "already_ended" (20404) means it could not be updated. Never raises."""
        return await self._update_call(account_sid, call_sid, {"Twiml": twiml}, "update")

    async def _update_call(
        self, account_sid: str, call_sid: str, form: dict, what: str
    ) -> HangUpResult:
        tail = call_sid[-8:]
        attempts = len(self._backoff_s) + 1
        for attempt in range(attempts):
            why = ""
            try:
                status, body = await self._post(account_sid, f"Calls/{call_sid}.json", form)
                if status == 200:
                    return HangUpResult("ok", attempt + 1)
                if status == 404 and body.get("code") == 20404:
                    return HangUpResult("already_ended", attempt + 1)
                why = f"HTTP {status} (code {body.get('code')})"
                if status < 500 and status != 429:
                    logger.error(f"{what} of ...{tail} refused: {why}")
                    return HangUpResult(f"refused_{status}", attempt + 1)
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                why = f"{type(exc).__name__}: {exc}"
            if attempt < len(self._backoff_s):
                logger.warning(f"{what} of ...{tail} failed ({why}); retrying")
                await self._sleep(self._backoff_s[attempt])
        logger.error(f"{what} of ...{tail} failed {attempts} times")
        return HangUpResult("failed", attempts)

    async def send_message(
        self, to: str, from_: str, body: str, *, account_sid: str | None = None
    ) -> MessageResult:
        """POST one SMS to `Messages.json` (To, From, Body); one attempt, never raises."""
        account = self._account_sid or account_sid
        if not (account and self._auth_token):
            return MessageResult(False, error="no Twilio credentials (TWILIO_ACCOUNT_SID/TOKEN)")
        form = {"To": to, "From": from_, "Body": body}
        try:
            status, answer = await self._post(account, "Messages.json", form)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            return MessageResult(False, error=f"{type(exc).__name__}: {exc}"[:200], retryable=True)
        if status in (200, 201) and answer.get("sid"):
            return MessageResult(True, sid=str(answer["sid"]), http_status=status)
        code = answer.get("code") if isinstance(answer.get("code"), int) else None
        why = f"HTTP {status}" + (f" code {code}" if code else "")
        if answer.get("message"):
            why += f": {answer['message']}"
        return MessageResult(
            False,
            http_status=status,
            code=code,
            error=why[:300],
            retryable=status >= 500 or status == 429,
        )

    async def create_call(
        self,
        to: str,
        from_: str,
        *,
        twiml: str,
        timeout_s: int | None = None,
        status_callback: str | None = None,
        status_events: tuple[str, ...] = ("initiated", "ringing", "answered", "completed"),
        account_sid: str | None = None,
        machine_detection: str | None = None,
        amd_callback: str | None = None,
    ) -> CreateCallResult:
        """POST `Calls.json`: call `to` from `from_`, running `twiml` when answered; Twilio
        reports the call's progress to `status_callback` (signed). `machine_detection`
        ("DetectMessageEnd", "Enable"): Twilio's asynchronous answering-machine detection,
        its result (AnsweredBy) POSTed to `amd_callback`. Never raises; never makes two
        calls (module docstring)."""
        account = self._account_sid or account_sid
        if not (account and self._auth_token):
            return CreateCallResult(False, error="no Twilio credentials (TWILIO_ACCOUNT_SID/TOKEN)")
        form: list[tuple[str, str]] = [("To", to), ("From", from_), ("Twiml", twiml)]
        if timeout_s is not None:
            form.append(("Timeout", str(timeout_s)))
        if status_callback:
            form += [("StatusCallback", status_callback), ("StatusCallbackMethod", "POST")]
            # Repeated, as Twilio's SDKs send a list.
            form += [("StatusCallbackEvent", event) for event in status_events]
        if machine_detection:  # answering-machine detection, asynchronous: the call goes on
            form += [("MachineDetection", machine_detection), ("AsyncAmd", "true")]
            if amd_callback:
                form += [
                    ("AsyncAmdStatusCallback", amd_callback),
                    ("AsyncAmdStatusCallbackMethod", "POST"),
                ]
        attempts = len(self._backoff_s) + 1
        for attempt in range(attempts):
            try:
                status, answer = await self._post(account, "Calls.json", form)
            except aiohttp.ClientConnectorError as exc:  # never connected: nothing was made
                why = f"{type(exc).__name__}"
                result = CreateCallResult(False, error=why, attempts=attempt + 1)
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                # Sent, answer lost: the call may exist. One call at most: no retry.
                why = f"{type(exc).__name__}: {exc}"[:200]
                logger.error(f"call creation: no answer ({why}); not retried")
                return CreateCallResult(False, error=why, attempts=attempt + 1)
            else:
                if status in (200, 201) and answer.get("sid"):
                    return CreateCallResult(
                        True,
                        sid=str(answer["sid"]),
                        status=str(answer.get("status") or ""),
                        http_status=status,
                        attempts=attempt + 1,
                    )
                code = answer.get("code") if isinstance(answer.get("code"), int) else None
                why = f"HTTP {status}" + (f" code {code}" if code else "")
                if answer.get("message"):  # Twilio's words may quote the number: masked
                    why += f": {masked_numbers(str(answer['message']))}"
                result = CreateCallResult(
                    False, http_status=status, code=code, error=why[:300], attempts=attempt + 1
                )
                if status != 429:
                    logger.error(f"call creation refused: {result.error}")
                    return result
            if attempt < len(self._backoff_s):
                logger.warning(f"call creation failed ({result.error}); retrying")
                await self._sleep(self._backoff_s[attempt])
        return result


class CallResource:
    """One live call's REST resource (`Calls/{CallSid}.json`), bound to its client."""

    def __init__(self, client: TwilioRestClient, account_sid: str, call_sid: str):
        self.client = client
        self.account_sid = account_sid
        self.call_sid = call_sid

    async def hang_up(self) -> HangUpResult:
        """End the call (see the module docstring for retries); never raises."""
        return await self.client.hang_up_call(self.account_sid, self.call_sid)

    def hang_up_in_background(self) -> asyncio.Task[HangUpResult]:
        """`hang_up()` as a task the client tracks (`wait_for_pending`, `close`)."""
        task = asyncio.create_task(self.hang_up(), name=f"hang-up-{self.call_sid[-8:]}")
        return self.client.track(task)

    async def cancel(self) -> HangUpResult:
        """End a call still queued or ringing (POST Status=canceled); retried; never raises."""
        return await self.client._update_call(
            self.account_sid, self.call_sid, {"Status": "canceled"}, "cancel"
        )

    async def update(self, *, twiml: str) -> HangUpResult:
        """Replace the call's TwiML with `twiml` (e.g. a <Dial>); retried; never raises."""
        return await self.client.update_call(self.account_sid, self.call_sid, twiml)
