"""What Twilio does with a call created over the REST API: the person a warm transfer calls,
the person or answering machine the agent's own calls reach (agent/outbound).

When the Twilio fake accepts `POST Calls.json` (agent/sim/fakes/twilio_rest.py) it hands
the new call to the emulator (`TwilioEmulator.dial_out`), which plays it with the next
scripted `Callee` (none scripted: nobody answers):

1. status callbacks, for the events the request subscribed to (`StatusCallbackEvent`),
   POSTed to `StatusCallback`, signed with `X-Twilio-Signature` like every Twilio request:
   `initiated`, `ringing`, then `answered` (CallStatus in-progress) after `after_s`, or
   the final status (busy, failed; no-answer after the request's `Timeout`) as the
   `completed` event; the completed report carries `CallDuration`;
2. answered: runs the call's TwiML (the inline `Twiml`): a `<Connect><Stream>` opens a
   media stream to the server, signed, with the `<Parameter>`s as `customParameters`,
   where the callee listens until the agent falls silent (the brief and the question;
   `hear_out=False`: half a second of it), then presses `press` and/or says `say`, and
   waits (`hang_up_after_s`: hangs up that long after answering, nothing else); a
   callee with `hello` says it first ("Hello?" as they pick up); one with
   `voicemail` is an answering machine: its greeting, a BEEP_S tone, then it records
   (what the agent said after the beep is in the stream's result, the beep's end in its
   timeline as `say_end` "beep");
2b. the call asked for asynchronous AMD (`MachineDetection` Enable/DetectMessageEnd,
   `AsyncAmd=true`): its verdict is POSTed to `AsyncAmdStatusCallback`, signed, with
   `AnsweredBy` (the callee's `amd`, else human / machine_end_beep) and
   `MachineDetectionDuration`, when DetectMessageEnd would know: a machine's just after
   its beep has ended on the stream, a person's AMD_HUMAN_S after their hello has;
3. the REST API ends the call (`Status=completed`/`canceled`: `ended`) or gives it new
   TwiML: `<Dial><Conference>NAME` takes it out of its stream and into the conference
   (agent/sim/conference.py), where the callee talks `talk_s` once the other leg is in,
   then hangs up, which ends the conference for both;
4. the final `completed` report.

Everything a leg did is in its `LegResult` (`TwilioEmulator.legs`).
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field

import aiohttp

from agent.sim.answers import TwiMLError, parse_twiml
from agent.sim.call import CallSession
from agent.sim.dial import TwiMLInvalid, _request_action, check_twiml, find_dial
from agent.sim.mulaw import BEEP_S, beep
from agent.sim.result import CallResult
from agent.sim.script import Dtmf, HangUp, Pause, Say, WaitForAgentAudio, WaitForAgentSilence

ANSWERS = ("answer", "no-answer", "busy", "failed")
AMD_HUMAN_S = 1.2  # after a person's first words, AMD says human
AMD_SILENT_S = 2.5  # nobody says anything: AMD's verdict comes anyway (human)


@dataclass(frozen=True)
class Callee:
    """How the called person behaves (a warm transfer's script for the other end)."""

    answer: str = "answer"  # answer | no-answer | busy | failed
    after_s: float = 1.0  # rings this long first (no-answer: the request's Timeout)
    press: str | None = None  # a key pressed once the agent has fallen silent
    hear_out: bool = True  # False: press/say half a second into the brief, not after it
    say: bytes | None = field(default=None, repr=False)  # mu-law speech said then
    say_text: str = ""
    talk_s: float = 1.0  # in the conference, once both legs are in, before hanging up
    # The agent's own calls (agent/outbound): a person says `hello` as they pick up, before
    # listening; an answering machine plays `voicemail` (its greeting), then BEEP_S of tone,
    # then records whatever comes until the call ends.
    hello: bytes | None = field(default=None, repr=False)
    hello_text: str = ""
    voicemail: bytes | None = field(default=None, repr=False)
    voicemail_text: str = ""
    # Twilio's AMD verdict (AnsweredBy), POSTed when the call asked for AMD; None: human, or
    # machine_end_beep for a voicemail. `amd_after_s`: when, from the answer (None: as
    # DetectMessageEnd does: after the greeting's beep; for a person, AMD_HUMAN_S after
    # their hello).
    amd: str | None = None
    amd_after_s: float | None = None
    # on its own stream: hangs up this long after answering, whatever was said (a calling
    # list's person; None: the script above, until the server or the REST API ends the call)
    hang_up_after_s: float | None = None
    # the callee's whole script on its stream instead of the above (`graph test`'s outbound
    # scenarios, agent/scenarios/caller.py); hello/voicemail still time the AMD verdict
    script: tuple = field(default=(), repr=False)
    max_duration_s: float = 120.0  # the stream is ended after this
    # statuses whose callback never reaches the server (it was down, a network fault):
    # recorded in LegResult.callbacks with HTTP status 0; the API still reports them
    lost_callbacks: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.answer not in ANSWERS:
            raise ValueError(f"Callee.answer is one of {ANSWERS}, not {self.answer!r}")


@dataclass
class LegResult:
    """What happened to one created call."""

    call_sid: str
    to: str
    from_: str
    callee: Callee
    callbacks: list[tuple[str, int]] = field(default_factory=list)  # (CallStatus, HTTP status)
    stream: CallResult | None = None
    conference: str | None = None
    status: str = "queued"  # the final CallStatus
    duration_s: int = 0
    amd: tuple[str, float, int] | None = None  # (AnsweredBy, seconds into the stream, HTTP)
    call_status: str = "queued"  # now, as Twilio's API reports it (GET Calls/{sid}.json)
    done: asyncio.Event = field(default_factory=asyncio.Event, repr=False)


class Leg:
    """One created call being played (see the module docstring)."""

    def __init__(self, twilio, call_sid: str, account_sid: str, form: dict, callee: Callee):
        self.twilio = twilio  # the TwilioEmulator
        self.account_sid = account_sid
        self.form = {k: v[0] for k, v in form.items()}
        self.events = set(form.get("StatusCallbackEvent", []))
        self.result = LegResult(call_sid, self.form["To"], self.form["From"], callee)
        self._ended = asyncio.Event()  # the REST API ended it
        self.session: CallSession | None = None

    def end(self, status: str) -> None:
        self._ended.set()
        if self.session is not None:
            self.session.hang_up("api")

    async def _callback(self, http: aiohttp.ClientSession, event: str, status: str) -> None:
        self.result.call_status = status
        url = self.form.get("StatusCallback")
        if not url or event not in self.events:
            return
        if status in self.result.callee.lost_callbacks:
            self.result.callbacks.append((status, 0))  # never reached the server
            return
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": "2010-04-01",
            "CallSid": self.result.call_sid,
            "CallStatus": status,
            "Direction": "outbound-api",
            "From": self.result.from_,
            "To": self.result.to,
            "Caller": self.result.from_,
            "Called": self.result.to,
            "CallbackSource": "call-progress-events",
            "SequenceNumber": str(len(self.result.callbacks)),
        }
        if event == "completed":
            params["CallDuration"] = params["Duration"] = str(self.result.duration_s)
        code, _ = await _request_action(
            self.twilio, http, url, "POST", params, to=self.twilio.callback_base_url
        )
        self.result.callbacks.append((status, code))

    async def _ring(self, seconds: float) -> bool:
        """Ring for `seconds`; False if the REST API ended the call meanwhile."""
        try:
            await asyncio.wait_for(self._ended.wait(), seconds)
        except TimeoutError:
            return True
        return False

    async def run(self, http: aiohttp.ClientSession) -> LegResult:
        result, callee = self.result, self.result.callee
        try:
            await self._callback(http, "initiated", "initiated")
            await self._callback(http, "ringing", "ringing")
            timeout = float(self.form.get("Timeout") or 60)
            ring = timeout if callee.answer == "no-answer" else min(callee.after_s, timeout)
            if not await self._ring(ring):
                result.status = "canceled"
            elif callee.answer != "answer":
                result.status = callee.answer
            else:
                await self._answered(http)
            await self._callback(http, "completed", result.status)
        finally:
            result.done.set()
        return result

    async def _answered(self, http: aiohttp.ClientSession) -> None:
        result, callee = self.result, self.result.callee
        loop = asyncio.get_running_loop()
        answered_at = loop.time()
        await self._callback(http, "answered", "in-progress")
        result.status = "completed"
        try:
            stream_url, params = parse_twiml(self.form.get("Twiml", ""), self.twilio.allow_ws)
        except TwiMLError:
            result.duration_s = 0
            return  # TwiML without a stream: Twilio would run it and hang up
        script = self._script()
        ws = await self.twilio.connect_stream(http, stream_url)
        self.session = CallSession(
            ws,
            t0=answered_at,
            account_sid=self.account_sid,
            call_sid=result.call_sid,
            stream_sid="MZ" + secrets.token_hex(16),
            stream_url=stream_url,
            parameters=params,
        )
        self.session.result.started_at = answered_at
        self.twilio.track_stream(result.call_sid, self.session)
        amd = asyncio.create_task(self._amd(http, loop.time()))
        try:
            result.stream = await self.session.run(script, callee.max_duration_s)
        finally:
            amd.cancel()
            self.twilio.untrack_stream(result.call_sid)
            self.session = None
        twiml = self.twilio.take_redirect(result.call_sid)
        if result.stream.closed_by == "redirect" and twiml is not None:
            await self._follow(twiml)
        result.duration_s = round(loop.time() - answered_at)

    def _script(self) -> list:
        callee = self.result.callee
        if callee.script:
            return list(callee.script)
        if callee.hang_up_after_s is not None:  # picks up, hangs up
            return [Pause(callee.hang_up_after_s), HangUp()]
        if callee.voicemail is not None:  # a machine: greeting, beep, then it records
            return [
                Say(callee.voicemail, callee.voicemail_text),
                Pause(0.15),
                Say(beep(), "beep"),
                Pause(600),
            ]
        script = [Say(callee.hello, callee.hello_text)] if callee.hello is not None else []
        script.append(WaitForAgentAudio(timeout=15))
        script.append(WaitForAgentSilence(pause=0.3, timeout=60) if callee.hear_out else Pause(0.5))
        if callee.press:
            script.append(Dtmf(callee.press))
        if callee.say is not None:
            script.append(Say(callee.say, callee.say_text))
        script.append(Pause(600))  # until the server or the REST API ends the stream
        return script

    async def _amd(self, http: aiohttp.ClientSession, answered_at: float) -> None:
        """Twilio's asynchronous AMD: its verdict to AsyncAmdStatusCallback, signed."""
        form, callee = self.form, self.result.callee
        url = form.get("AsyncAmdStatusCallback")
        if form.get("MachineDetection") not in ("Enable", "DetectMessageEnd") or not url:
            return
        if form.get("AsyncAmd") != "true":
            return  # synchronous AMD (not emulated): the TwiML would wait for it
        if callee.voicemail is not None:
            answered_by = callee.amd or "machine_end_beep"
            after = len(callee.voicemail) / 8000 + 0.15 + BEEP_S + 0.1
        else:
            answered_by = callee.amd or "human"
            spoken = len(callee.hello) / 8000 if callee.hello is not None else None
            after = spoken + AMD_HUMAN_S if spoken is not None else AMD_SILENT_S
        loop = asyncio.get_running_loop()
        cue = "beep" if callee.voicemail is not None else callee.hello and callee.hello_text
        if callee.amd_after_s is not None:
            at = answered_at + callee.amd_after_s
        elif cue and await self._said_end(cue, timeout=after + 10):
            # DetectMessageEnd hears the line: its verdict follows the beep (a machine) or
            # the hello (a person) as it actually ended on the stream
            at = loop.time() + (0.1 if callee.voicemail is not None else AMD_HUMAN_S)
        else:
            at = answered_at + after
        await asyncio.sleep(max(0.0, at - loop.time()))
        after = loop.time() - answered_at
        params = {
            "AccountSid": self.account_sid,
            "CallSid": self.result.call_sid,
            "AnsweredBy": answered_by,
            "MachineDetectionDuration": str(int(after * 1000)),
        }
        code, _ = await _request_action(
            self.twilio, http, url, "POST", params, to=self.twilio.callback_base_url
        )
        self.result.amd = (answered_by, loop.time() - answered_at, code)

    async def _said_end(self, label: str, timeout: float) -> bool:
        """Wait until the callee's `Say` labelled `label` has ended on the stream."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline and self.session is not None:
            if any(e[0] == "say_end" and e[2] == label for e in self.session.timeline):
                return True
            await asyncio.sleep(0.02)
        return False

    async def _follow(self, twiml: str) -> None:
        """New TwiML for the answered call: a conference (anything else ends the call)."""
        try:
            dial = find_dial(check_twiml(twiml))
        except TwiMLInvalid:
            return
        if dial is None or dial.conference is None:
            return
        self.result.conference = dial.conference
        conferences = self.twilio.conferences
        joined = asyncio.create_task(conferences.join(dial.conference, self.result.call_sid))
        if await conferences.wait_members(dial.conference, 2, timeout=15):
            await asyncio.sleep(self.result.callee.talk_s)
        conferences.end(dial.conference)  # the callee hangs up: the conference is over
        await joined
