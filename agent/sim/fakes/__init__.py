"""Local fakes of Deepgram, Deepgram Flux, Groq, Cartesia and Twilio REST.

Each fake speaks its provider's real wire protocol, so the real pipecat
services and SDK clients run against them unchanged; only base URLs differ
(see :meth:`ProviderFakes.env`). Each fake is a dataclass of settings tests may
change at any time, plus records of what it received. Run them standalone
with ``python -m agent.sim.fakes --port 8765``.
"""

from .cartesia import CartesiaContext, CartesiaFake
from .deepgram import DeepgramConnection, DeepgramFake
from .deepgram_flux import DeepgramFluxFake, FluxConnection
from .groq import GroqFake, ToolCall
from .server import ProviderFakes, create_app
from .synth import VoiceParams, synth_speech
from .twilio_rest import TwilioHangup, TwilioRequest, TwilioRestFake

__all__ = [
    "CartesiaContext",
    "CartesiaFake",
    "DeepgramConnection",
    "DeepgramFake",
    "DeepgramFluxFake",
    "FluxConnection",
    "GroqFake",
    "ProviderFakes",
    "ToolCall",
    "TwilioHangup",
    "TwilioRequest",
    "TwilioRestFake",
    "VoiceParams",
    "create_app",
    "synth_speech",
]
