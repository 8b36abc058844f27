"""Local mode: with no provider keys, `python -m agent serve` answers calls with graphs/local.yaml.

A newcomer with no Deepgram, Groq or Cartesia account still gets a working phone agent
(Whisper, Piper, scripted answers; see graphs/local.yaml). Local mode is chosen only when
none of the three keys is set and DEFAULT_GRAPH was not set either (empty counts as not set:
`.env.example` leaves it empty, so a keyless copy of it serves the local graph). With any key,
the configured default graph is served, and a missing key is an error that names it. A
DEFAULT_GRAPH set explicitly is always served: without keys that is the same missing-key
error, preceded by one line saying local mode is off because of it.
"""

from __future__ import annotations

from agent.config import Config

PROVIDER_KEYS = ("DEEPGRAM_API_KEY", "GROQ_API_KEY", "CARTESIA_API_KEY")
LOCAL_GRAPH = "local"


def choose_default_graph(config: Config) -> tuple[Config, str | None]:
    """The config to serve with, and the one line to log about the choice (None: nothing to say)."""
    if any(getattr(config, key.lower()) for key in PROVIDER_KEYS):
        return config, None
    explicit = config.environ.get("DEFAULT_GRAPH", "").strip()
    if explicit:
        if explicit == LOCAL_GRAPH:
            return config, None
        return config, (
            f"no provider keys ({', '.join(PROVIDER_KEYS)}) but DEFAULT_GRAPH={explicit} is "
            f"set: serving '{explicit}', not the local graph (leave DEFAULT_GRAPH empty to "
            f"serve '{LOCAL_GRAPH}')"
        )
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
