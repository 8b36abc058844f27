"""`${call.vars.NAME}`: a call variable in a graph's words (greeting, voicemail, goodbye, idle
prompt) and in its LLM prompt file, filled in per call from the variables an outbound call
brings (`dial --var name=Ann`; agent/outbound/twilio_placer.py carries them to the stream).

    references(text) -> [NAME]   the variables a text uses, in order
    render(text, values) -> str   the text with each reference replaced (a variable the call
                                  did not bring: empty)

`${env:...}` is resolved when the graph is loaded (envsubst.py), `${call.vars...}` on each
call: envsubst leaves these references as written, and validation
(callvar_checks.py) checks each names a declared variable and sits where it can be rendered:
not in a phrase the audio cache plays as recorded.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

CALL_VAR = re.compile(r"\$\{call\.vars\.([A-Za-z_][A-Za-z0-9_]*)\}")
# The `call:` fields said with the live TTS, so they can hold variables; every other text
# field of `call:` is meant to be in the audio cache (graph model: "Keep it in the audio
# cache") and must stay as written.
RENDERED_CALL_FIELDS = ("greeting", "voicemail", "goodbye", "idle_prompt")


def references(text: str) -> list[str]:
    return CALL_VAR.findall(text or "")


def render(text: str | None, values: Mapping[str, str]) -> str | None:
    if not text or "${call.vars." not in text:
        return text
    return CALL_VAR.sub(lambda m: str(values.get(m.group(1), "")), text)


def render_settings(settings, values: Mapping[str, str]):
    """A graph's CallSettings with its rendered fields filled in for one call."""
    changes = {
        name: render(getattr(settings, name), values)
        for name in RENDERED_CALL_FIELDS
        if getattr(settings, name) and "${call.vars." in getattr(settings, name)
    }
    return settings.model_copy(update=changes) if changes else settings
