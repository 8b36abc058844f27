"""agent/app over HTTP: health, metrics, the TwiML webhooks (signed), the stream upgrade.

Each test runs the real app on a local port against the provider fakes (the Groq model check
runs at start-up) and talks to it the way Twilio, a load balancer or Prometheus would.
"""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from urllib.parse import urlencode

import aiohttp
import pytest
from twilio.request_validator import RequestValidator
from yarl import URL

import agent.app.media_stream as media_stream_module
from agent import __version__
from agent.app.server import drain
from agent.sim.emulator import StreamConnectError
from agent.sim.script import HangUp
from tests.conftest import AUTH_TOKEN, PUBLIC_HOST

PUBLIC = f"https://{PUBLIC_HOST}"
STREAM_URL = f"wss://{PUBLIC_HOST}/ws"
FORM = {"CallSid": "CA" + "1" * 32, "From": "+15550001111", "To": "+15550002222"}


def sign(url: str, params: dict | None = None, token: str = AUTH_TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, params or {})


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as session:
        yield session


async def webhook(
    http: aiohttp.ClientSession,
    server,
    path: str = "/twiml",
    query: dict | None = None,
    method: str = "POST",
    form: dict | None = None,
    signature: str | None | bool = True,
) -> tuple[int, str]:
    """Request a webhook like Twilio: GET carries the form in the query, POST in the body.

    `signature=True` signs the public URL (+ POST params) with the right token.
    """
    form = dict(FORM if form is None else form)
    query = dict(query if query is not None else {"graph": "receptionist"})
    body = None
    if method == "GET":
        query |= form
    else:
        body = form
    path_qs = path + ("?" + urlencode(query) if query else "")
    headers = {}
    if signature is True:
        signature = sign(PUBLIC + path_qs, body)
    if signature:
        headers["X-Twilio-Signature"] = signature
    url = URL(server.base_url + path_qs, encoded=True)
    async with http.request(method, url, data=body, headers=headers) as resp:
        return resp.status, await resp.text()


def stream_of(twiml: str) -> tuple[ET.Element, dict[str, str]]:
    """The <Stream> of a TwiML answer, checking nothing but <Connect><Stream> is in it."""
    root = ET.fromstring(twiml)
    assert root.tag == "Response"
    assert [child.tag for child in root] == ["Connect"], twiml  # nothing after <Connect>
    connect = root[0]
    assert [child.tag for child in connect] == ["Stream"], twiml
    stream = connect[0]
    params = {p.get("name"): p.get("value") for p in stream.findall("Parameter")}
    return stream, params


# -- health and metrics -------------------------------------------------------------------------


async def test_health_reports_ok_then_draining(start_server, http):
    server = await start_server()
    async with http.get(server.base_url + "/health") as resp:
        assert resp.status == 200
        body = await resp.json()
    assert body["status"] == "ok"
    assert body["active_calls"] == 0
    assert body["version"] == __version__

    await drain(server.app, grace_s=0)
    async with http.get(server.base_url + "/health") as resp:
        assert resp.status == 503
        assert (await resp.json())["status"] == "draining"


async def test_metrics_are_prometheus_text_with_the_promised_series(start_server, http):
    server = await start_server()
    m = server.services.metrics
    m.calls.labels("caller_hung_up").inc()
    m.twilio_messages.labels("media").inc(3)
    m.twilio_dropped.labels("bad_json").inc()
    m.turn_latency.observe(0.42)
    async with http.get(server.base_url + "/metrics") as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/plain")
        text = await resp.text()
    samples = {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line and not line.startswith("#")
    }
    assert samples["switchboard_active_calls"] == 0
    assert samples['switchboard_calls_total{outcome="caller_hung_up"}'] == 1
    assert samples['switchboard_twilio_messages_received_total{event="media"}'] == 3
    assert samples['switchboard_twilio_messages_dropped_total{reason="bad_json"}'] == 1
    assert samples['switchboard_turn_latency_seconds_bucket{le="0.5"}'] == 1
    assert samples['switchboard_turn_latency_seconds_bucket{le="0.3"}'] == 0
    assert samples["switchboard_turn_latency_seconds_count"] == 1
    assert "# TYPE switchboard_calls_rejected_total counter" in text


# -- TwiML webhooks -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/twiml", "/incoming-call"])
@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_webhook_answers_connect_stream_with_parameters(start_server, http, path, method):
    server = await start_server()
    status, twiml = await webhook(http, server, path, method=method)
    assert status == 200, twiml
    stream, params = stream_of(twiml)
    assert stream.get("url") == STREAM_URL
    assert params == {"graph": "receptionist", "from": "+15550001111", "to": "+15550002222"}
    assert server.services.metrics.value("switchboard_webhook_requests_total", result="ok") == 1


async def test_webhook_without_graph_uses_the_default(start_server, http):
    server = await start_server()
    status, twiml = await webhook(http, server, query={})
    assert status == 200, twiml
    assert stream_of(twiml)[1]["graph"] == "receptionist"


async def test_unknown_graph_is_400_naming_it_with_a_suggestion(start_server, http):
    server = await start_server()
    status, text = await webhook(http, server, query={"graph": "receptionst"})
    assert status == 400
    assert "receptionst" in text
    assert "did you mean 'receptionist'" in text


@pytest.mark.parametrize(
    "signature",
    [
        pytest.param(None, id="missing"),
        pytest.param(sign(PUBLIC + "/twiml?graph=receptionist", FORM, "wrong-token"), id="bad"),
        pytest.param(sign(PUBLIC + "/twiml?graph=receptionist", {}), id="without-form"),
    ],
)
async def test_webhook_with_missing_or_bad_signature_is_403(start_server, http, signature):
    server = await start_server()
    status, text = await webhook(http, server, signature=signature)
    assert status == 403, text
    metrics = server.services.metrics
    assert metrics.value("switchboard_webhook_requests_total", result="bad_signature") == 1
    assert metrics.value("switchboard_webhook_requests_total", result="ok") == 0


async def test_signature_covers_the_public_url_not_the_local_one(start_server, http):
    """Behind a tunnel Twilio signs https://PUBLIC_HOST/...; a local-URL signature is wrong."""
    server = await start_server()
    path_qs = "/twiml?graph=receptionist"
    status, _ = await webhook(http, server, signature=sign(server.base_url + path_qs, FORM))
    assert status == 403
    status, _ = await webhook(http, server, signature=sign(PUBLIC + path_qs, FORM))
    assert status == 200


async def test_without_auth_token_no_signature_is_needed(start_server, http):
    server = await start_server(TWILIO_AUTH_TOKEN="")
    assert server.config.twilio_auth_token is None
    status, twiml = await webhook(http, server, signature=None)
    assert status == 200, twiml
    assert stream_of(twiml)[0].get("url") == STREAM_URL
    status, _ = await webhook(http, server, signature="garbage")  # not checked at all
    assert status == 200


async def test_draining_webhook_says_busy_and_hangs_up(start_server, http):
    server = await start_server()
    await drain(server.app, grace_s=0)
    status, twiml = await webhook(http, server)
    assert status == 200
    root = ET.fromstring(twiml)
    assert [child.tag for child in root] == ["Say", "Hangup"], twiml
    assert "call back" in root[0].text
    assert server.services.metrics.value("switchboard_webhook_requests_total", result="busy") == 1


# -- the media stream upgrade -------------------------------------------------------------------


@pytest.fixture
def sessions_built(monkeypatch) -> list:
    """Every CallSession the server creates (one per accepted stream)."""
    built: list = []
    original = media_stream_module.CallSession

    class RecordingCallSession(original):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            built.append(self)

    monkeypatch.setattr(media_stream_module, "CallSession", RecordingCallSession)
    return built


async def _wait_for(condition, timeout: float = 10.0) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def test_signed_stream_upgrade_is_accepted(start_server, http, sessions_built):
    server = await start_server()
    headers = {"X-Twilio-Signature": sign(STREAM_URL)}
    async with http.ws_connect(server.base_url + "/ws", headers=headers) as ws:
        assert await _wait_for(lambda: len(server.services.calls) == 1)
        await ws.close()  # no `start`: the session ends without building a pipeline
    assert len(sessions_built) == 1
    metrics = server.services.metrics
    assert await _wait_for(
        lambda: metrics.value("switchboard_calls_rejected_total", reason="no_start") == 1
    )
    assert metrics.value("switchboard_calls_rejected_total", reason="bad_signature") == 0
    assert await _wait_for(lambda: not server.services.calls)


@pytest.mark.parametrize(
    "signature",
    [
        pytest.param(lambda server: None, id="missing"),
        pytest.param(lambda server: sign(STREAM_URL, token="wrong-token"), id="bad"),
        pytest.param(
            lambda server: sign(server.base_url.replace("http", "ws") + "/ws"), id="local-url"
        ),
    ],
)
async def test_unsigned_stream_upgrade_is_refused_before_any_call_starts(
    start_server, http, sessions_built, signature
):
    server = await start_server()
    signature = signature(server)
    headers = {"X-Twilio-Signature": signature} if signature else {}
    with pytest.raises(aiohttp.WSServerHandshakeError) as info:
        await http.ws_connect(server.base_url + "/ws", headers=headers)
    assert info.value.status == 403
    assert sessions_built == []
    assert not server.services.calls
    metrics = server.services.metrics
    assert metrics.value("switchboard_calls_rejected_total", reason="bad_signature") == 1


async def test_emulator_reports_a_refused_stream_upgrade(start_server, sessions_built):
    """The webhook is signed right, the upgrade wrongly: the emulator raises, no call starts."""
    server = await start_server()
    emulator = server.emulator()
    sign_right = emulator.sign

    def sign_upgrade_wrongly(url, params=None):
        return sign_right(url, params) if url.startswith("https://") else "not-a-signature"

    emulator.sign = sign_upgrade_wrongly
    with pytest.raises(StreamConnectError) as info:
        await emulator.place_call([HangUp()])
    assert info.value.status == 403
    assert sessions_built == []
    metrics = server.services.metrics
    assert metrics.value("switchboard_webhook_requests_total", result="ok") == 1
    assert metrics.value("switchboard_calls_rejected_total", reason="bad_signature") == 1


async def test_stream_upgrade_while_draining_is_refused(start_server, http, sessions_built):
    server = await start_server()
    await drain(server.app, grace_s=0)
    headers = {"X-Twilio-Signature": sign(STREAM_URL)}
    with pytest.raises(aiohttp.WSServerHandshakeError) as info:
        await http.ws_connect(server.base_url + "/ws", headers=headers)
    assert info.value.status == 503
    assert sessions_built == []
    assert server.services.metrics.value("switchboard_calls_rejected_total", reason="draining") == 1


async def test_at_capacity_the_webhook_answers_busy_and_health_reports_load(fakes, start_server):
    from twilio.request_validator import RequestValidator

    from tests.conftest import AUTH_TOKEN, PUBLIC_HOST

    server = await start_server(MAX_CALLS="1")
    services = server.services
    health = await _get_json(server, "/health")
    assert (health["max_calls"], health["load"]) == (1, 0.0)

    services.calls.add(object())  # one live call fills this process
    form = {"CallSid": "CA1", "From": "+15550001111", "To": "+15550002222"}
    url = f"https://{PUBLIC_HOST}/twiml?graph=receptionist"
    signature = RequestValidator(AUTH_TOKEN).compute_signature(url, form)
    import aiohttp

    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{server.base_url}/twiml?graph=receptionist",
            data=form,
            headers={"X-Twilio-Signature": signature},
        ) as resp:
            assert resp.status == 200
            twiml = await resp.text()
    assert "<Say>" in twiml and "<Hangup />" in twiml and "<Connect>" not in twiml
    assert services.metrics.value("switchboard_calls_rejected_total", reason="capacity") == 1
    health = await _get_json(server, "/health")
    assert health["load"] == 1.0
    services.calls.clear()  # the stand-in call must not be drained at shutdown


async def _get_json(server, path: str) -> dict:
    import aiohttp

    async with aiohttp.ClientSession() as http:
        async with http.get(f"{server.base_url}{path}") as resp:
            return await resp.json()
