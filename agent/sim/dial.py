"""What Twilio does with a live call's new TwiML: `<Dial>`, its `action` callback, and the
caller's line across the media streams of one call.

When the REST API updates a call with `Twiml=<Response><Dial action=...>NUMBER</Dial>`
(agent/sim/fakes/twilio_rest.py hands it to the emulator), Twilio

1. ends the current `<Connect><Stream>`: the stream gets `stop` and its socket closes;
2. rings NUMBER: the outcome is scripted with `DialOutcome` (answered and talked for
   `talk_s`; or busy, failed, or no-answer after the `<Dial timeout>`; `after_s` shortens
   the wait in tests);
3. when the dialled leg ends, requests the `action` URL (POST unless `method` says GET),
   signed with `X-Twilio-Signature` over the public URL and the form, with CallSid,
   CallStatus, From, To, DialCallSid, DialCallStatus and (answered) DialCallDuration;
   A `<Dial><Conference>NAME` instead puts the call in that conference (agent/sim/
   conference.py) until the conference ends;
4. runs the TwiML it gets: `<Connect><Stream>` opens a new media stream on the same call
   (same CallSid, a new StreamSid); anything else (an empty `<Response/>`, `<Hangup/>`)
   ends the call.

`CallLine` is the caller's side over all of a call's streams: the script's steps talk to
whichever stream is live (`script.WaitForStream` waits for the next one).
"""

from __future__ import annotations

import asyncio
import secrets
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlencode

import aiohttp
from yarl import URL

from agent.sim.conference import Conferences
from agent.sim.playback import Playback
from agent.sim.result import CallResult

DIAL_STATUSES = ("completed", "busy", "no-answer", "failed", "canceled")
# Verbs Twilio accepts in a <Response> (TwiML voice); anything else is error 12100.
VOICE_VERBS = frozenset(
    [
        "Connect",
        "Dial",
        "Echo",
        "Enqueue",
        "Gather",
        "Hangup",
        "Leave",
        "Pause",
        "Pay",
        "Play",
        "Record",
        "Redirect",
        "Refer",
        "Reject",
        "Say",
        "Sms",
        "Start",
        "Stop",
    ]
)


class TwiMLInvalid(ValueError):
    """TwiML Twilio would reject (error 12100, "Document parse failure")."""


@dataclass(frozen=True)
class DialOutcome:
    """How the dialled person answers: ``status`` is Twilio's DialCallStatus."""

    status: str = "completed"
    talk_s: float = 1.0  # answered: how long the person talks before hanging up
    after_s: float | None = None  # how long it rings first (None: 1 s; no-answer: the timeout)

    def __post_init__(self) -> None:
        if self.status not in DIAL_STATUSES:
            raise ValueError(f"DialCallStatus is one of {DIAL_STATUSES}, not {self.status!r}")

    def ring_s(self, timeout_s: float) -> float:
        if self.after_s is not None:
            return self.after_s
        return timeout_s if self.status == "no-answer" else 1.0


@dataclass(frozen=True)
class DialVerb:
    """A <Dial> as Twilio reads it."""

    number: str
    action: str | None
    method: str
    timeout_s: float
    caller_id: str | None
    conference: str | None = None  # <Dial><Conference>NAME: joins a conference instead


def check_twiml(twiml: str) -> ET.Element:
    """The <Response> element of voice TwiML, or TwiMLInvalid saying why."""
    try:
        root = ET.fromstring(twiml)
    except ET.ParseError as exc:
        raise TwiMLInvalid(f"TwiML is not well-formed XML ({exc})") from None
    if root.tag != "Response":
        raise TwiMLInvalid(f"the root element must be <Response>, not <{root.tag}>")
    for verb in root:
        if verb.tag not in VOICE_VERBS:
            raise TwiMLInvalid(f"<{verb.tag}> is not a TwiML voice verb")
    return root


def find_dial(root: ET.Element) -> DialVerb | None:
    """The response's <Dial>, if any (a bare number inside it, or a <Number> noun)."""
    dial = root.find("Dial")
    if dial is None:
        return None
    room = dial.find("Conference")
    if room is not None:
        name = (room.text or "").strip()
        if not name:
            raise TwiMLInvalid("<Conference> has no name")
        return DialVerb("", dial.get("action"), "POST", 0.0, None, conference=name)
    number = (dial.text or "").strip()
    noun = dial.find("Number")
    if not number and noun is not None:
        number = (noun.text or "").strip()
    if not number:
        raise TwiMLInvalid("<Dial> has no number to dial")
    try:
        timeout = float(dial.get("timeout", "30"))
    except ValueError:
        raise TwiMLInvalid(f"<Dial timeout> is not a number: {dial.get('timeout')!r}") from None
    return DialVerb(
        number=number,
        action=dial.get("action"),
        method=(dial.get("method") or "POST").upper(),
        timeout_s=timeout,
        caller_id=dial.get("callerId"),
    )


def action_form(
    account_sid: str, call_sid: str, from_: str, to: str, outcome: DialOutcome, dial_sid: str
) -> dict[str, str]:
    """The parameters of Twilio's request to a <Dial action> URL."""
    form = {
        "AccountSid": account_sid,
        "ApiVersion": "2010-04-01",
        "CallSid": call_sid,
        "CallStatus": "in-progress",
        "Direction": "inbound",
        "From": from_,
        "To": to,
        "Caller": from_,
        "Called": to,
        "DialCallSid": dial_sid,
        "DialCallStatus": outcome.status,
        "DialBridged": "true" if outcome.status == "completed" else "false",
    }
    if outcome.status == "completed":
        form["DialCallDuration"] = str(round(outcome.talk_s))
    return form


class CallLine:
    """The caller's line over the call's media streams (script.CallerLine): steps reach the
    stream that is live; between streams (ringing), they wait for the next."""

    def __init__(self) -> None:
        self.current = None  # call.CallSession
        self.streams = 0
        self._live = asyncio.Event()
        self._changed = asyncio.Event()

    def attach(self, session) -> None:
        self.current = session
        self.streams += 1
        self._live.set()
        self._pulse()

    def detach(self) -> None:
        self._live.clear()
        self._pulse()

    def _pulse(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    @property
    def playback(self) -> Playback:
        return self.current.playback

    def now(self) -> float:
        return self.current.now()

    async def say(self, audio: bytes, text: str) -> None:
        await self._live.wait()
        await self.current.say(audio, text)

    async def send_dtmf(self, digit: str) -> None:
        await self._live.wait()
        await self.current.send_dtmf(digit)

    async def send_raw(self, data: str | bytes) -> None:
        await self._live.wait()
        await self.current.send_raw(data)

    async def wait_change(self, timeout: float) -> None:
        """Until the live stream's playback changes, a stream starts or ends, or `timeout`."""
        changed = self._changed
        waits = [asyncio.ensure_future(changed.wait())]
        if self._live.is_set():
            waits.append(asyncio.ensure_future(self.current.wait_change(timeout)))
        try:
            await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in waits:
                task.cancel()

    def record_timeout(self, what: str) -> None:
        self.current.record_timeout(what)


class Twilio(Protocol):
    """What following TwiML needs from the emulator: its account, URLs and signatures."""

    account_sid: str
    base_url: str
    public_base_url: str
    conferences: Conferences

    def sign(self, url: str, params: Mapping[str, str] | None = None) -> str | None: ...


async def follow_twiml(
    twilio: Twilio,
    http: aiohttp.ClientSession,
    twiml: str,
    form: dict,
    result: CallResult,
    outcomes: list[DialOutcome],
    parse_stream: Callable[[str], tuple[str, dict[str, str]]],
) -> tuple[str, dict[str, str]] | None:
    """Run TwiML given to a live call: (stream URL, parameters) of the stream it connects
    next, or None when the call ends."""
    try:
        root = check_twiml(twiml)
        dial = find_dial(root)
    except TwiMLInvalid:
        return None  # the fake answered 400 already; the call would not have changed
    if dial is None:
        return parse_stream(twiml) if root.find("Connect/Stream") else None
    if dial.conference is not None:  # the call sits in the conference until it ends
        result.conferences.append(dial.conference)
        await twilio.conferences.join(dial.conference, form["CallSid"])
        return None
    outcome = outcomes.pop(0) if outcomes else DialOutcome("no-answer")
    record = {
        "number": dial.number,
        "action": dial.action,
        "timeout": dial.timeout_s,
        "caller_id": dial.caller_id,
        "status": outcome.status,
        "duration": round(outcome.talk_s) if outcome.status == "completed" else None,
    }
    result.dials.append(record)
    talk = outcome.talk_s if outcome.status == "completed" else 0.0
    await asyncio.sleep(outcome.ring_s(dial.timeout_s) + talk)
    if not dial.action:
        return None  # nothing after the <Dial>: the call ends
    params = action_form(
        twilio.account_sid,
        form["CallSid"],
        form["From"],
        form["To"],
        outcome,
        "CA" + secrets.token_hex(16),
    )
    status, answer = await _request_action(twilio, http, dial.action, dial.method, params)
    record["answer_status"], record["answer"] = status, answer
    if status != 200:
        return None  # Twilio: "an application error has occurred", the call ends
    try:
        root = check_twiml(answer)
    except TwiMLInvalid:
        return None
    return parse_stream(answer) if root.find("Connect/Stream") else None


async def _request_action(
    twilio: Twilio,
    http: aiohttp.ClientSession,
    action: str,
    method: str,
    params: dict[str, str],
    to: str | None = None,
) -> tuple[int, str]:
    """Request a <Dial action> or callback URL as Twilio does (signed over the public URL),
    at `to` (a server's real base URL; default the emulator's `base_url`)."""
    if not action.startswith(twilio.public_base_url):
        return 0, f"action URL {action!r} is not on {twilio.public_base_url}"
    tail = action[len(twilio.public_base_url) :]
    body: dict[str, str] | None = params
    if method == "GET":
        tail += ("&" if "?" in tail else "?") + urlencode(params)
        body = None
    headers = {"User-Agent": "TwilioProxy/1.1"}
    signature = twilio.sign(twilio.public_base_url + tail, body)
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    url = URL((to or twilio.base_url) + tail, encoded=True)
    async with http.request(method, url, data=body, headers=headers) as resp:
        return resp.status, await resp.text()
