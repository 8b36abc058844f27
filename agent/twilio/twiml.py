"""TwiML: the XML answers we give Twilio, as pure functions returning strings.

    connect_stream(url, parameters)   <Connect><Stream url> with <Parameter>s: the call talks
                                      to the agent over a media stream (agent/app/media_stream.py)
    say_and_hang_up(message)          <Say> then <Hangup>: the busy answer
    dial(number, action, ...)         <Dial action=...>NUMBER</Dial>: a cold transfer; Twilio
                                      requests `action` when the dialled leg ends
    end()                             an empty <Response/>: nothing more to do, the call ends
    conference(name, ...)             <Dial><Conference>NAME</Conference></Dial>: a warm
                                      transfer's two legs, each updated with it, meet there

Built with the `twilio` package's `VoiceResponse`, so escaping and attribute names are
Twilio's own. Any other verb the app answers with (a `<Dial>` with its `action` callback,
a `<Conference>`) gets its function here; the REST client (agent/twilio/rest.py) sends the
same strings when it updates a live call.
"""

from __future__ import annotations

from collections.abc import Mapping

from twilio.twiml.voice_response import (
    Conference,
    Connect,
    Dial,
    Hangup,
    Say,
    Stream,
    VoiceResponse,
)

CONTENT_TYPE = "application/xml"


def connect_stream(url: str, parameters: Mapping[str, str]) -> str:
    """Connect the call to the media stream at `url` (wss://...), with custom parameters.

    Nothing follows `<Connect>`: when the stream ends, the call ends.
    """
    stream = Stream(url=url)
    for name, value in parameters.items():
        stream.parameter(name=name, value=value)
    connect = Connect()
    connect.append(stream)
    response = VoiceResponse()
    response.append(connect)
    return str(response)


def say_and_hang_up(message: str) -> str:
    """Say `message` (Twilio's default voice), then hang up."""
    response = VoiceResponse()
    response.append(Say(message))
    response.append(Hangup())
    return str(response)


def dial(number: str, action: str, *, timeout_s: int = 20, caller_id: str | None = None) -> str:
    """Dial `number`; when that leg ends Twilio POSTs `DialCallStatus` to `action` and runs
    the TwiML it answers (agent/app/transfers.py). `timeout_s`: seconds it rings unanswered.
    """
    response = VoiceResponse()
    attributes = {"action": action, "method": "POST", "timeout": timeout_s}
    if caller_id:
        attributes["caller_id"] = caller_id
    response.append(Dial(number, **attributes))
    return str(response)


def end() -> str:
    """Nothing to do: Twilio ends the call when the TwiML runs out (no <Hangup/> needed)."""
    return str(VoiceResponse())


def conference(
    name: str,
    *,
    status_callback: str | None = None,
    status_events: tuple[str, ...] = ("start", "end", "join", "leave"),
) -> str:
    """Join the conference `name`: it starts when this leg enters and ends when this leg
    leaves (`endConferenceOnExit`: with both legs so, either hanging up ends the call), no
    beep. `status_callback`: where Twilio reports the conference's events (signed)."""
    attributes = {
        "start_conference_on_enter": True,
        "end_conference_on_exit": True,
        "beep": False,
    }
    if status_callback:
        attributes["status_callback"] = status_callback
        attributes["status_callback_event"] = " ".join(status_events)
        attributes["status_callback_method"] = "POST"
    dial = Dial()
    dial.append(Conference(name, **attributes))
    response = VoiceResponse()
    response.append(dial)
    return str(response)
