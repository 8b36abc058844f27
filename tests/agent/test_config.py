"""agent/config.py: precedence, validation messages, secret masking, .env.example in sync."""

from pathlib import Path

import pytest

from agent.config import SETTINGS, Config, Secret, render_env_example
from agent.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_apply_when_nothing_is_set(tmp_path):
    config = Config.load(env={}, dotenv_path=tmp_path / "missing.env")
    assert config.port == 8080
    assert config.groq_base_url == "https://api.groq.com/openai/v1"
    assert config.deepgram_base_url == "https://api.deepgram.com"
    assert config.cartesia_base_url == "wss://api.cartesia.ai"
    assert config.twilio_api_base_url == "https://api.twilio.com"
    assert config.groq_api_key is None


def test_environment_overrides_dotenv_which_overrides_defaults(tmp_path):
    dotenv = tmp_path / ".env"
    dotenv.write_text("PORT=9000\nGROQ_MODEL=from-dotenv\nLOG_FORMAT=json\n")
    config = Config.load(env={"PORT": "9100"}, dotenv_path=dotenv)
    assert config.port == 9100
    assert config.groq_model == "from-dotenv"
    assert config.log_format == "json"


def test_invalid_values_are_all_reported_naming_variable_and_purpose(tmp_path):
    env = {"PORT": "eighty", "LOG_FORMAT": "xml", "GROQ_BASE_URL": "ftp://x"}
    with pytest.raises(ConfigError) as info:
        Config.load(env=env, dotenv_path=None)
    message = str(info.value)
    assert "PORT='eighty' is invalid" in message and "port the HTTP server listens on" in message
    assert "LOG_FORMAT='xml' is invalid (expected one of json, text)" in message
    assert "GROQ_BASE_URL='ftp://x' is invalid" in message


def test_require_names_the_missing_variable_and_who_needs_it():
    config = Config.load(env={}, dotenv_path=None)
    with pytest.raises(ConfigError) as info:
        config.require("DEEPGRAM_API_KEY", "graph 'receptionist' node 'stt'")
    assert str(info.value) == (
        "DEEPGRAM_API_KEY is not set: it is the Deepgram API key for speech-to-text "
        "(needed by graph 'receptionist' node 'stt')"
    )


def test_secrets_never_show_in_repr_str_or_errors():
    secret_value = "sk-live-very-secret-123"
    config = Config.load(env={"GROQ_API_KEY": secret_value}, dotenv_path=None)
    assert secret_value not in repr(config)
    assert secret_value not in str(config.groq_api_key)
    assert config.groq_api_key.reveal() == secret_value
    assert config.secret_values() == [secret_value]
    assert repr(Secret("x")) == "Secret('****')"


def test_invalid_secret_value_is_not_echoed(monkeypatch):
    from agent import config as config_module

    strict_secret = config_module.Setting("GROQ_API_KEY", "a test secret", None, int, secret=True)
    patched = tuple(strict_secret if s.name == "GROQ_API_KEY" else s for s in SETTINGS)
    monkeypatch.setattr(config_module, "SETTINGS", patched)
    with pytest.raises(ConfigError) as info:
        Config.load(env={"GROQ_API_KEY": "hunter2-not-a-number"}, dotenv_path=None)
    assert "GROQ_API_KEY=**** is invalid" in str(info.value)
    assert "hunter2" not in str(info.value)


def test_env_example_lists_every_setting_and_is_in_sync():
    text = (ROOT / ".env.example").read_text()
    assert text.strip() == render_env_example().strip(), (
        ".env.example is stale: run python -m agent config example > .env.example"
    )
    for setting in SETTINGS:
        assert f"\n{setting.name}=" in text


def test_a_keyless_copy_of_env_example_leaves_default_graph_to_local_mode(tmp_path):
    # `cp .env.example .env` with no keys filled in: DEFAULT_GRAPH is empty there, so the
    # setting's default applies and local mode (agent/local_mode.py) may pick the local graph.
    from agent.local_mode import LOCAL_GRAPH, choose_default_graph

    dotenv = tmp_path / ".env"
    dotenv.write_text((ROOT / ".env.example").read_text())
    assert "\nDEFAULT_GRAPH=\n" in dotenv.read_text()
    config = Config.load(env={}, dotenv_path=dotenv)
    assert config.default_graph == "receptionist"
    chosen, line = choose_default_graph(config)
    assert chosen.default_graph == LOCAL_GRAPH and line and "serving the local graph" in line

    # The same file with a key filled in serves the default graph.
    with_key = Config.load(env={"GROQ_API_KEY": "gsk-123"}, dotenv_path=dotenv)
    assert choose_default_graph(with_key)[0].default_graph == "receptionist"
