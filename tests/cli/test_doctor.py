"""agent/cli/doctor.py against the provider fakes: one line per check, FAIL lines say what to fix.

Each provider is checked the way the call's client uses it, so the fakes (which check keys
exactly as the real services do) can refuse it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys

import pytest

from agent.cli.doctor import CARTESIA_VERSION, run_doctor
from agent.config import Config
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, ROOT, server_env

# PUBLIC_HOST must resolve for the doctor to pass, and nothing but localhost resolves here.
OK_HOST = "localhost"


def config_for(fakes, **overrides: str) -> Config:
    env = server_env(fakes.env(), **{"PUBLIC_HOST": OK_HOST, **overrides})
    return Config.load(env=env, dotenv_path=None)


async def doctor(config: Config) -> tuple[int, list[str]]:
    lines: list[str] = []
    code = await run_doctor(config, out=lines.append)
    secrets = config.secret_values()
    assert secrets and not [line for line in lines if any(s in line for s in secrets)], lines
    return code, lines


def statuses(lines: list[str]) -> dict[str, str]:
    """check name -> status, from lines like `FAIL groq: ...`."""
    found = {}
    for line in lines[:-1]:
        status, rest = line.split(None, 1)
        found[rest.split(":", 1)[0]] = status
    return found


async def test_all_ok_prints_one_line_per_check_and_exits_0(fakes):
    config = config_for(fakes)
    code, lines = await doctor(config)
    assert code == 0, lines
    assert statuses(lines) == {
        name: "ok"
        for name in ("config", "graphs", "groq", "deepgram", "cartesia", "twilio", "public_host")
    }
    assert lines[-1] == "7 ok, 0 failed"
    # Each provider really was asked, with the key from the configuration.
    assert fakes.deepgram.connections[-1].api_key == config.deepgram_api_key.reveal()
    assert fakes.cartesia.handshakes[-1]["api_key"] == config.cartesia_api_key.reveal()
    assert fakes.twilio.requests[-1].path == f"/2010-04-01/Accounts/{ACCOUNT_SID}.json"
    assert fakes.twilio.requests[-1].auth_ok


def test_cartesia_check_sends_the_api_version_pipecat_sends():
    from pipecat.services.cartesia.tts import _CARTESIA_API_VERSION

    assert CARTESIA_VERSION == _CARTESIA_API_VERSION


async def test_cartesia_handshake_is_the_one_pipecat_makes(fakes):
    """Header key and version, no query string: a fake insisting on headers accepts it."""
    await doctor(config_for(fakes))
    assert fakes.cartesia.handshakes[-1] == {
        "version": CARTESIA_VERSION,
        "api_key": "sk-cartesia-test-123",
    }


@pytest.mark.parametrize(
    "breakage, check, needles",
    [
        pytest.param(
            {"env": {"GROQ_MODEL": "llama-9-imaginary"}},
            "groq",
            ["llama-9-imaginary", "GROQ_MODEL", "llama-3.3-70b-versatile", "llama-3.1-8b-instant"],
            id="groq-model",
        ),
        pytest.param(
            {"fake": ("groq", "expected_key", "another-key")}, "groq", ["GROQ_API_KEY"], id="groq"
        ),
        pytest.param(
            {"fake": ("deepgram", "expected_key", "another-key")},
            "deepgram",
            ["401", "DEEPGRAM_API_KEY"],
            id="deepgram-key",
        ),
        pytest.param(
            {"fake": ("cartesia", "expected_key", "another-key")},
            "cartesia",
            ["401", "CARTESIA_API_KEY"],
            id="cartesia-key",
        ),
        pytest.param(
            {"fake": ("twilio", "expected_auth_token", "another-token")},
            "twilio",
            ["401", "TWILIO_AUTH_TOKEN"],
            id="twilio-token",
        ),
        pytest.param(
            {"env": {"PUBLIC_HOST": "switchboard.invalid"}},
            "public_host",
            ["switchboard.invalid", "does not resolve", "PUBLIC_HOST"],
            id="public-host",
        ),
        pytest.param(
            {"env": {"GROQ_BASE_URL": "http://127.0.0.1:9/openai/v1"}},
            "groq",
            ["unreachable", "base URL"],
            id="groq-unreachable",
        ),
    ],
)
async def test_each_failure_is_a_fail_line_naming_the_fix(fakes, breakage, check, needles):
    if "fake" in breakage:
        fake, attribute, value = breakage["fake"]
        setattr(getattr(fakes, fake), attribute, value)
    code, lines = await doctor(config_for(fakes, **breakage.get("env", {})))
    assert code == 1, lines
    found = statuses(lines)
    assert found.pop(check) == "FAIL", lines
    assert set(found.values()) == {"ok"}, lines  # only the broken thing fails
    line = next(line for line in lines if line.startswith(f"FAIL {check}:"))
    for needle in needles:
        assert needle in line, line
    assert lines[-1] == f"{len(lines) - 2} ok, 1 failed"


async def test_flux_graph_checks_the_flux_socket(fakes):
    code, lines = await doctor(config_for(fakes, USE_DEEPGRAM_FLUX="true"))
    assert code == 0, lines
    assert statuses(lines)["deepgram_flux"] == "ok"
    assert "deepgram" not in statuses(lines)
    assert fakes.flux.connections and not fakes.deepgram.connections


async def test_a_node_without_model_is_checked_against_groq_model(fakes, tmp_path):
    graphs = tmp_path / "graphs"
    shutil.copytree(ROOT / "graphs", graphs)
    (tmp_path / "audio_cache").symlink_to(ROOT / "audio_cache")  # the router's routes file
    path = graphs / "receptionist.yaml"
    text = path.read_text()
    without_model = text.replace('model: "${env:GROQ_MODEL|llama-3.3-70b-versatile}", ', "")
    assert without_model != text
    path.write_text(without_model)

    code, lines = await doctor(config_for(fakes, GRAPHS_DIR=str(graphs)))
    assert code == 0, lines
    code, lines = await doctor(
        config_for(fakes, GRAPHS_DIR=str(graphs), GROQ_MODEL="llama-9-imaginary")
    )
    assert code == 1 and "llama-9-imaginary" in next(x for x in lines if "groq" in x), lines


async def test_doctor_command_exits_1_and_prints_no_secret(fakes, tmp_path):
    fakes.deepgram.expected_key = "the-right-deepgram-key"
    env = server_env(fakes.env(), PUBLIC_HOST=OK_HOST)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "agent",
        "doctor",
        cwd=tmp_path,  # no .env from the developer's checkout
        env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    stdout, _ = await asyncio.wait_for(proc.communicate(), 60)
    output = stdout.decode()
    assert proc.returncode == 1, output
    lines = output.splitlines()
    assert lines[-1] == "6 ok, 1 failed", output
    assert any(line.startswith("FAIL deepgram:") and "DEEPGRAM_API_KEY" in line for line in lines)
    for secret in (AUTH_TOKEN, env["DEEPGRAM_API_KEY"], env["GROQ_API_KEY"]):
        assert secret not in output
