"""Local mode: with no provider keys, `python -m agent serve` answers calls with graphs/local.yaml.

A newcomer with no Deepgram, Groq or Cartesia account still gets a working phone agent
(Whisper, Piper, scripted answers; see graphs/local.yaml). Local mode is chosen only when
none of the three keys is set and DEFAULT_GRAPH was not set either: with any key, the
configured default graph is served and a missing key is an error that names it.
"""

from __future__ import annotations

from agent.config import Config

PROVIDER_KEYS = ("DEEPGRAM_API_KEY", "GROQ_API_KEY", "CARTESIA_API_KEY")
LOCAL_GRAPH = "local"


def choose_default_graph(config: Config) -> tuple[Config, str | None]:
    """The config to serve with, and the one line to log when local mode was chosen."""
    if any(getattr(config, key.lower()) for key in PROVIDER_KEYS):
        return config, None
    if config.environ.get("DEFAULT_GRAPH"):
        return config, None
    llm = (
        f"the LLM at {config.llm_base_url} ({config.llm_model})"
        if config.llm_base_url
        else "scripted answers"
    )
    line = (
        f"no provider keys ({', '.join(PROVIDER_KEYS)}): serving the local graph "
        f"'{LOCAL_GRAPH}' (Whisper, Piper, {llm}); try it: python -m agent call --say "
        '"how much is it"'
    )
    return config.with_overrides(default_graph=LOCAL_GRAPH), line
