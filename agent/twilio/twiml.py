"""TwiML: the XML answers we give Twilio, as pure functions returning strings.

    connect_stream(url, parameters)   <Connect><Stream url> with <Parameter>s: the call talks
                                      to the agent over a media stream (agent/app/media_stream.py)
    say_and_hang_up(message)          <Say> then <Hangup>: the busy answer
    dial(number, action, ...)         <Dial action=...>NUMBER</Dial>: a cold transfer; Twilio
                                      requests `action` when the dialled leg ends
    end()                             an empty <Response/>: nothing more to do, the call ends

Built with the `twilio` package's `VoiceResponse`, so escaping and attribute names are
Twilio's own. Any other verb the app answers with (a `<Dial>` with its `action` callback,
a `<Conference>`) gets its function here; the REST client (agent/twilio/rest.py) sends the
same strings when it updates a live call.
"""

from __future__ import annotations

from collections.abc import Mapping

from twilio.twiml.voice_response import Connect, Dial, Hangup, Say, Stream, VoiceResponse

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
