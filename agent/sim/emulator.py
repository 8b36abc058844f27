"""A Twilio emulator: places a phone call into our server exactly the way Twilio does.

``TwilioEmulator.place_call(script)`` plays Twilio's side of an inbound call:

1. POSTs the voice webhook form (signed with ``X-Twilio-Signature`` over the *public* URL),
2. reads the TwiML answer, which must be ``<Response><Connect><Stream url="wss://...">``,
3. opens the Media Streams WebSocket to the same path on the local server, the upgrade request
   signed over the ``<Stream url>`` from the TwiML with no parameters,
4. sends ``connected`` and ``start``, then one ``media`` message every 20 ms on an absolute
   schedule (the script's caller audio, else mu-law silence),
5. plays the server's ``media`` in real time, echoes ``mark`` when its audio has played and
   everything pending on ``clear`` (see ``playback``), running the script's steps meanwhile,
6. ends with ``stop`` and a close when the script ends (or ``max_duration`` passes, or
   ``end_call`` emulates a REST hang-up), or notices that the server closed first;
7. when the REST API updates the call with new TwiML (the Twilio fake calls ``redirect``),
   ends the stream (``stop``, close) and runs it: a ``<Dial>`` rings with the scripted
   ``DialOutcome`` (``place_call(dial=[...])``), requests its signed ``action`` URL and
   follows the answer, a ``<Connect><Stream>`` onto a new stream of the same call, where
   the script goes on (agent/sim/dial.py); a ``<Dial><Conference>`` puts it in a conference
   (agent/sim/conference.py) until the conference ends;
8. when the REST API creates a call (the Twilio fake calls ``dial_out``), plays it with
   the next scripted ``Callee`` (``place_call(callees=[...])``; ``callees_by_number`` first,
   per called number, for a calling list whose calls are made in any order): signed status
   callbacks, the answer, a media stream of its own with the scripted keys or words, and
   the conference it is moved into (agent/sim/outbound.py); ``legs`` has the results.

It returns a ``CallResult``: everything heard, a timeline, marks, clears, underruns, who hung up.
Many calls run concurrently in one event loop (benchmarks run 100): each call is three tasks
(media clock, receiver, script) and nothing blocks, logs or spawns per frame.

Errors (all carry what they got, for the test failure message; defined in
agent/sim/answers.py, exported here)::

    EmulatorError                 base class
    ├── WebhookError              the webhook did not answer 200 (.status, .body)
    ├── TwiMLError                the answer is not a usable <Connect><Stream> (.twiml)
    └── StreamConnectError        the WebSocket upgrade was refused (.status)
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from urllib.parse import urlencode, urlsplit

import aiohttp
from twilio.request_validator import RequestValidator
from yarl import URL

from agent.sim.answers import (
    EmulatorError,
    StreamConnectError,
    TwiMLError,
    WebhookError,
    parse_twiml,
)
from agent.sim.call import CallSession
from agent.sim.conference import Conferences
from agent.sim.dial import CallLine, DialOutcome, follow_twiml
from agent.sim.outbound import Callee, Leg, LegResult
from agent.sim.result import CallResult
from agent.sim.script import Script, run_script

__all__ = [
    "CallResult",
    "EmulatorError",
    "StreamConnectError",
    "TwiMLError",
    "TwilioEmulator",
    "WebhookError",
    "parse_twiml",
]


DEFAULT_QUERY: Mapping[str, str] = MappingProxyType({"graph": "receptionist"})
"""The voice URL's query string when ``place_call`` is given none (pass ``{}`` for none)."""


def _sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


class TwilioEmulator:
    """Twilio, as far as our server can tell. See the module docstring.

    ``base_url`` is where the server really listens (``http://127.0.0.1:PORT``);
    ``public_base_url`` is the URL Twilio is configured with (``https://PUBLIC_HOST``), which
    is what signatures cover. Without ``auth_token`` nothing is signed.
    """

    def __init__(
        self,
        base_url: str,
        auth_token: str | None = None,
        account_sid: str | None = None,
        public_base_url: str | None = None,
        underrun_gap_ms: float = 400.0,
        allow_ws: bool = False,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.public_base_url = (public_base_url or base_url).rstrip("/")
        self.account_sid = account_sid or _sid("AC")
        self.underrun_gap_ms = underrun_gap_ms
        self.allow_ws = allow_ws  # accept a ws:// <Stream url> (see parse_twiml)
        # Where created calls' status and AMD callbacks really go (None: `base_url`): another
        # server process behind the same public URL, as a load balancer may send them.
        self.callback_base_url: str | None = None
        self._validator = RequestValidator(auth_token) if auth_token else None
        self._calls: dict[str, CallSession] = {}
        self._redirects: dict[str, str] = {}  # CallSid -> TwiML the REST API gave the call
        self.conferences = Conferences()
        self.callees: list[Callee] = []  # how the next created calls go, in order
        # how the next calls to a number go, in order (before `callees`)
        self.callees_by_number: dict[str, list[Callee]] = {}
        self.legs: list[LegResult] = []  # every created call played
        self._legs: dict[str, Leg] = {}
        self._leg_tasks: set[asyncio.Task] = set()

    @property
    def active_calls(self) -> list[str]:
        """CallSids of the calls in progress."""
        return list(self._calls)

    def sign(self, url: str, params: Mapping[str, str] | None = None) -> str | None:
        """The ``X-Twilio-Signature`` Twilio would send for ``url`` (+ POST params)."""
        if self._validator is None:
            return None
        return self._validator.compute_signature(url, dict(params or {}))

    def webhook_form(self, call_sid: str, from_: str, to: str) -> dict[str, str]:
        """The parameters Twilio sends to the voice URL when an inbound call rings."""
        form = {"AccountSid": self.account_sid, "ApiVersion": "2010-04-01"}
        form |= {"CallSid": call_sid, "CallStatus": "ringing", "Direction": "inbound"}
        for prefix, number in (("Called", to), ("Caller", from_), ("From", from_), ("To", to)):
            form[prefix] = number
            form |= {f"{prefix}{k}": "" for k in ("City", "State", "Zip")}
            form[f"{prefix}Country"] = "US"
        return form

    async def place_call(
        self,
        script: Script,
        path: str = "/twiml",
        query: Mapping[str, str] = DEFAULT_QUERY,
        from_: str = "+15550001111",
        to: str = "+15550002222",
        method: str = "POST",
        max_duration: float | None = None,
        extra_form: Mapping[str, str] | None = None,
        on_connected: Callable[[CallSession], None] | None = None,
        dial: Sequence[DialOutcome] = (),
        callees: Sequence[Callee] = (),
    ) -> CallResult:
        """Ring the server, run ``script`` as the caller, return what happened.

        ``dial``: how each ``<Dial>`` the call gets goes, in order (default: no-answer).
        ``callees``: how each call the server creates goes (default: nobody answers); the
        call waits (at most 30 s) for those calls to end before returning.
        The result is the first stream's; streams after a transfer are in ``later_streams``.

        The webhook goes to ``path?query`` with ``method``; ``extra_form`` adds or overrides
        webhook parameters. ``max_duration`` (seconds) ends the call as a caller hang-up.
        ``on_connected`` gets the live ``CallSession`` once the stream is open (to watch the
        call as it goes, as ``python -m agent call`` does).
        """
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        call_sid = _sid("CA")
        form = self.webhook_form(call_sid, from_, to) | dict(extra_form or {})
        line = CallLine()
        outcomes = list(dial)
        self.callees.extend(callees)
        first: CallResult | None = None
        async with aiohttp.ClientSession() as http:
            twiml = await self._fetch_twiml(http, path, dict(query), form, method.upper())
            stream_url, params = parse_twiml(twiml, self.allow_ws)
            script_task: asyncio.Task | None = None
            try:
                while True:
                    ws = await self._connect(http, stream_url)
                    call = CallSession(
                        ws,
                        t0=t0,
                        account_sid=self.account_sid,
                        call_sid=call_sid,
                        stream_sid=_sid("MZ"),
                        stream_url=stream_url,
                        parameters=params,
                        underrun_gap_s=self.underrun_gap_ms / 1000,
                    )
                    call.result.started_at = t0
                    self._calls[call_sid] = call
                    line.attach(call)
                    if script_task is None:  # the caller talks from the first stream on
                        script_task = asyncio.create_task(self._run_script(script, line))
                    if on_connected is not None and first is None:
                        on_connected(call)
                    left = None if max_duration is None else max_duration - (loop.time() - t0)
                    result = await call.run(None, None if left is None else max(left, 0.0))
                    line.detach()
                    del self._calls[call_sid]
                    if first is None:
                        first = result
                    else:
                        first.later_streams.append(result)
                    new_twiml = self._redirects.pop(call_sid, None)
                    if result.closed_by != "redirect" or new_twiml is None:
                        break
                    follow = await follow_twiml(
                        self, http, new_twiml, form, first, outcomes, self._parse_stream
                    )
                    if follow is None or script_task.done():
                        break  # the call is over (or the caller gave up while it rang)
                    stream_url, params = follow
            finally:
                self._calls.pop(call_sid, None)
                self._redirects.pop(call_sid, None)
                ended = None
                if script_task is not None:
                    script_task.cancel()
                    (ended,) = await asyncio.gather(script_task, return_exceptions=True)
        if self._leg_tasks:  # the calls it made end too (the conference, a hang-up)
            await asyncio.wait(set(self._leg_tasks), timeout=30)
        if isinstance(ended, Exception) and not isinstance(ended, asyncio.CancelledError):
            raise ended  # a bad script step or an emulator bug must not pass silently
        return first

    # -- calls the REST API creates (agent/sim/outbound.py) -----------------------------------

    def dial_out(self, call_sid: str, account_sid: str, form: dict[str, list[str]]) -> None:
        """The Twilio fake created `call_sid`: play it with the next scripted Callee (the
        number's own first)."""
        by_number = self.callees_by_number.get(form.get("To", [""])[0])
        if by_number:
            callee = by_number.pop(0)
        else:
            callee = self.callees.pop(0) if self.callees else Callee("no-answer")
        leg = Leg(self, call_sid, account_sid, form, callee)
        self._legs[call_sid] = leg
        self.legs.append(leg.result)

        async def run() -> None:
            async with aiohttp.ClientSession() as http:
                await leg.run(http)

        task = asyncio.create_task(run(), name=f"leg-{call_sid[-8:]}")
        self._leg_tasks.add(task)
        task.add_done_callback(self._leg_tasks.discard)

    def call_state(self, call_sid: str) -> dict | None:
        """A created call now, as Twilio's API shows it (status; duration once ended;
        answered_by once AMD decided); None if it is not one of the created calls."""
        leg = self._legs.get(call_sid)
        if leg is None:
            return None
        result = leg.result
        final = result.done.is_set()
        return {
            "status": result.call_status,
            "duration": str(result.duration_s) if final else None,
            "answered_by": result.amd[0] if result.amd else None,
        }

    def ended(self, call_sid: str, status: str) -> bool:
        """The REST API ended a created call (Status=completed/canceled)."""
        leg = self._legs.get(call_sid)
        if leg is None:
            return False
        leg.end(status)
        return True

    def track_stream(self, call_sid: str, session: CallSession) -> None:
        self._calls[call_sid] = session  # the REST API may redirect it like any call

    def untrack_stream(self, call_sid: str) -> None:
        self._calls.pop(call_sid, None)

    def take_redirect(self, call_sid: str) -> str | None:
        return self._redirects.pop(call_sid, None)

    async def connect_stream(
        self, http: aiohttp.ClientSession, stream_url: str
    ) -> aiohttp.ClientWebSocketResponse:
        """Open a media stream WebSocket to the server, signed as Twilio does."""
        return await self._connect(http, stream_url)

    @staticmethod
    async def _run_script(script: Script, line: CallLine) -> None:
        try:
            await line.current.started.wait()  # as on Twilio: the caller is heard after `start`
            await run_script(script, line)
        finally:
            if line.current is not None:
                line.current.hang_up("caller")  # no-op on a stream that already ended

    def _parse_stream(self, twiml: str) -> tuple[str, dict[str, str]]:
        return parse_twiml(twiml, self.allow_ws)

    def redirect(self, call_sid: str, twiml: str) -> bool:
        """The REST API gave the call new TwiML (agent/sim/fakes/twilio_rest.py): its stream
        ends (``stop``, close) and the TwiML runs. False if no such call is in progress."""
        call = self._calls.get(call_sid)
        if call is None:
            return False
        self._redirects[call_sid] = twiml
        call.hang_up("redirect")
        return True

    async def end_call(self, call_sid: str) -> bool:
        """Hang up like the Calls REST resource does (``Status=completed``): Twilio sends
        ``stop`` and closes the stream. False if no such call is in progress."""
        call = self._calls.get(call_sid)
        if call is None:
            return False
        call.hang_up("api")
        return True

    async def _fetch_twiml(
        self, http: aiohttp.ClientSession, path: str, query: dict, form: dict, method: str
    ) -> str:
        if method == "GET":  # Twilio sends the parameters in the query string and signs it all
            query, body = query | form, None
        elif method == "POST":
            body = form
        else:
            raise ValueError(f"Twilio webhooks are GET or POST, not {method}")
        path_qs = path + ("?" + urlencode(query) if query else "")
        url = self.base_url + path_qs
        headers = {"User-Agent": "TwilioProxy/1.1"}
        signature = self.sign(self.public_base_url + path_qs, body)
        if signature is not None:
            headers["X-Twilio-Signature"] = signature
        async with http.request(method, URL(url, encoded=True), data=body, headers=headers) as resp:
            text = await resp.text()
            if resp.status != 200:
                raise WebhookError(resp.status, text, url)
            if "xml" not in resp.headers.get("Content-Type", ""):
                raise TwiMLError(f"Content-Type must be XML, not {resp.content_type!r}", text)
            return text

    async def _connect(
        self, http: aiohttp.ClientSession, stream_url: str
    ) -> aiohttp.ClientWebSocketResponse:
        # Twilio dials the public wss:// URL; we dial the same path on the local server.
        local = URL(self.base_url)
        local = local.with_scheme("wss" if local.scheme == "https" else "ws")
        local = local.with_path(urlsplit(stream_url).path or "/")
        headers = {}
        signature = self.sign(stream_url)  # the URL from the TwiML, no parameters
        if signature is not None:
            headers["X-Twilio-Signature"] = signature
        try:
            return await http.ws_connect(
                local,
                headers=headers,
                autoping=True,
                max_msg_size=16 * 2**20,
                timeout=aiohttp.ClientWSTimeout(ws_close=5.0),
            )
        except aiohttp.WSServerHandshakeError as exc:
            raise StreamConnectError(exc.status, str(local), exc.message) from None
