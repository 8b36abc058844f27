"""`python -m agent doctor`: check the configuration and every provider the graphs use.

One line per check: `ok`, `FAIL` (with what to fix) or `skip`. Each provider is checked the
way the real client uses it: Groq's `/models` lists the configured model, Deepgram's live
socket (Flux's /v2/listen for a Flux graph) and Cartesia's TTS socket accept the key at the
handshake (the headers pipecat sends), Twilio's Account resource
accepts the SID and token, PUBLIC_HOST resolves. Exit code 1 on any failure.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp

from agent.cli.common import load_config
from agent.config import Config
from agent.errors import GraphError
from agent.graph import load_graphs

TIMEOUT = aiohttp.ClientTimeout(total=8)
# The API version pipecat's CartesiaTTSService sends (its `_CARTESIA_API_VERSION`; a test keeps
# the two equal), so the doctor's handshake is the one a call makes.
CARTESIA_VERSION = "2026-03-01"


@dataclass
class CheckResult:
    name: str
    status: str  # ok | FAIL | skip
    detail: str

    def line(self) -> str:
        return f"{self.status:<4} {self.name}: {self.detail}"


def _ws_url(base: str, path: str) -> str:
    if base.startswith("https://"):
        base = "wss://" + base[len("https://") :]
    elif base.startswith("http://"):
        base = "ws://" + base[len("http://") :]
    return base.rstrip("/") + path


async def _ws_handshake(url: str, headers: dict[str, str]) -> tuple[bool, str]:
    async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
        try:
            async with session.ws_connect(url, headers=headers) as ws:
                await ws.close()
                return True, "accepted"
        except aiohttp.WSServerHandshakeError as exc:
            return False, f"handshake refused with HTTP {exc.status}"


async def check_groq(config: Config, models: set[str]) -> CheckResult:
    key = config.groq_api_key
    if not key:
        return CheckResult(
            "groq", "FAIL", "GROQ_API_KEY is not set; fix: put your Groq key in .env"
        )
    headers = {"Authorization": f"Bearer {key.reveal()}"}
    async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
        async with session.get(f"{config.groq_base_url}/models", headers=headers) as resp:
            if resp.status == 401:
                return CheckResult("groq", "FAIL", "key rejected (401); fix: check GROQ_API_KEY")
            if resp.status != 200:
                return CheckResult("groq", "FAIL", f"/models answered HTTP {resp.status}")
            available = {m.get("id") for m in (await resp.json()).get("data", [])}
    missing = sorted(models - available)
    if missing:
        return CheckResult(
            "groq",
            "FAIL",
            f"model(s) {', '.join(missing)} not available; fix: set GROQ_MODEL to one of "
            f"{', '.join(sorted(a for a in available if a))}",
        )
    return CheckResult("groq", "ok", f"key accepted; model(s) {', '.join(sorted(models))} listed")


async def check_deepgram(config: Config, flux_model: str | None = None) -> CheckResult:
    """The live socket the STT opens: /v1/listen, or with `flux_model` Flux's /v2/listen."""
    name = "deepgram_flux" if flux_model else "deepgram"
    key = config.deepgram_api_key
    if not key:
        return CheckResult(
            name, "FAIL", "DEEPGRAM_API_KEY is not set; fix: put your Deepgram key in .env"
        )
    query = "encoding=linear16&sample_rate=8000"
    path = f"/v2/listen?model={flux_model}&{query}" if flux_model else f"/v1/listen?{query}"
    url = _ws_url(config.deepgram_base_url, path)
    ok, detail = await _ws_handshake(url, {"Authorization": f"Token {key.reveal()}"})
    return CheckResult(
        name,
        "ok" if ok else "FAIL",
        detail if ok else f"{detail}; fix: check DEEPGRAM_API_KEY",
    )


async def check_cartesia(config: Config) -> CheckResult:
    key = config.cartesia_api_key
    if not key:
        return CheckResult(
            "cartesia", "FAIL", "CARTESIA_API_KEY is not set; fix: put your Cartesia key in .env"
        )
    # Exactly pipecat's handshake: the bare socket URL, key and version in headers.
    url = f"{config.cartesia_base_url}/tts/websocket"
    ok, detail = await _ws_handshake(
        url, {"X-API-Key": key.reveal(), "Cartesia-Version": CARTESIA_VERSION}
    )
    return CheckResult(
        "cartesia",
        "ok" if ok else "FAIL",
        detail if ok else f"{detail}; fix: check CARTESIA_API_KEY",
    )


async def check_twilio(config: Config) -> CheckResult:
    sid, token = config.twilio_account_sid, config.twilio_auth_token
    if not (sid and token):
        return CheckResult(
            "twilio",
            "FAIL",
            "TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN not set: signatures are not checked and calls "
            "cannot be hung up over REST; fix: set both from the Twilio console",
        )
    url = f"{config.twilio_api_base_url}/2010-04-01/Accounts/{sid}.json"
    async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
        async with session.get(url, auth=aiohttp.BasicAuth(sid, token.reveal())) as resp:
            if resp.status == 200:
                return CheckResult("twilio", "ok", f"account {sid} accepted the credentials")
            return CheckResult(
                "twilio",
                "FAIL",
                f"HTTP {resp.status}; fix: check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN",
            )


async def check_public_host(config: Config) -> CheckResult:
    host = config.public_host
    if not host:
        return CheckResult(
            "public_host",
            "FAIL",
            "PUBLIC_HOST is not set; fix: set it to your tunnel or app host name",
        )
    name = host.split(":")[0]
    try:
        await asyncio.get_running_loop().getaddrinfo(name, 443)
    except socket.gaierror as exc:
        return CheckResult(
            "public_host",
            "FAIL",
            f"{name} does not resolve ({exc.strerror}); fix: check PUBLIC_HOST "
            "(the host name only, e.g. abc123.ngrok.app)",
        )
    return CheckResult("public_host", "ok", f"{name} resolves")


async def _guarded(name: str, check: Callable[[], Awaitable[CheckResult]]) -> CheckResult:
    try:
        return await check()
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        return CheckResult(
            name, "FAIL", f"unreachable ({exc.__class__.__name__}); check the base URL and network"
        )


async def run_doctor(config: Config, out=print) -> int:
    """Run every check, print one line each, return the exit code."""
    results: list[CheckResult] = [CheckResult("config", "ok", "configuration loaded")]
    types: set[str] = set()
    models: set[str] = set()
    flux_models: set[str] = set()
    try:
        graphs = load_graphs(config.graphs_dir, config, strict=False)
        for graph in graphs.values():
            for node in graph.nodes.values():
                types.add(node.type.name)  # node.type is the NodeType, not its name
                if node.type.name == "groq_llm":
                    # A node without `model:` uses GROQ_MODEL, as the server's check does.
                    models.add(node.params.model or config.groq_model)
                elif node.type.name == "deepgram_flux_stt":
                    flux_models.add(node.params.model)
        results.append(
            CheckResult("graphs", "ok", f"{len(graphs)} valid: {', '.join(sorted(graphs))}")
        )
    except GraphError as exc:
        results.append(CheckResult("graphs", "FAIL", str(exc)))

    checks: list[tuple[str, Callable[[], Awaitable[CheckResult]]]] = []
    if "groq_llm" in types:
        checks.append(("groq", lambda: check_groq(config, models)))
    if "deepgram_stt" in types:
        checks.append(("deepgram", lambda: check_deepgram(config)))
    for flux_model in sorted(flux_models):
        checks.append(("deepgram_flux", lambda m=flux_model: check_deepgram(config, m)))
    if "cartesia_tts" in types:
        checks.append(("cartesia", lambda: check_cartesia(config)))
    checks.append(("twilio", lambda: check_twilio(config)))
    checks.append(("public_host", lambda: check_public_host(config)))
    results += await asyncio.gather(*(_guarded(name, fn) for name, fn in checks))
    for result in results:
        out(result.line())
    failed = [r for r in results if r.status == "FAIL"]
    out(f"{len(results) - len(failed)} ok, {len(failed)} failed")
    return 1 if failed else 0


def add_arguments(doctor: argparse.ArgumentParser) -> None:
    """No options."""


def main(args: argparse.Namespace) -> int:
    """`python -m agent doctor`."""
    return asyncio.run(run_doctor(load_config()))
