"""agent/twilio/signatures.py: which URL a signature covers, and the check itself."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import make_mocked_request
from multidict import CIMultiDict
from twilio.request_validator import RequestValidator

from agent.config import Config
from agent.twilio.signatures import SIGNATURE_HEADER, is_valid, public_base, public_url

TOKEN = "sig-test-token-0123456789"
FORM = {"CallSid": "CA123", "From": "+15550001111", "To": "+15550002222"}


def config(**env: str) -> Config:
    return Config.load(env={"TWILIO_AUTH_TOKEN": TOKEN, **env}, dotenv_path=None)


def request(path: str = "/twiml?graph=sales&x=%2B1", method: str = "POST", **headers: str):
    all_headers = CIMultiDict({"Host": "127.0.0.1:8080", **headers})
    return make_mocked_request(method, path, headers=all_headers)


def signed(url: str, params: dict | None = None, token: str = TOKEN) -> dict[str, str]:
    return {SIGNATURE_HEADER: RequestValidator(token).compute_signature(url, params or {})}


def test_public_host_decides_the_url_whatever_the_proxy_says():
    cfg = config(PUBLIC_HOST="abc.ngrok.app")
    req = request(**{"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "http"})
    assert public_base(req, cfg) == "https://abc.ngrok.app"
    assert public_base(req, cfg, websocket=True) == "wss://abc.ngrok.app"
    # Path and query exactly as requested (still percent-encoded: that is what was signed).
    assert public_url(req, cfg) == "https://abc.ngrok.app/twiml?graph=sales&x=%2B1"


@pytest.mark.parametrize(
    ("headers", "http_base", "ws_base"),
    [
        ({}, "http://127.0.0.1:8080", "ws://127.0.0.1:8080"),
        (
            {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "app.example.com"},
            "https://app.example.com",
            "wss://app.example.com",
        ),
        (  # a chain of proxies: the first value is the client's side
            {"X-Forwarded-Proto": "https, http", "X-Forwarded-Host": "app.example.com, lb"},
            "https://app.example.com",
            "wss://app.example.com",
        ),
    ],
)
def test_without_public_host_the_request_and_proxy_headers_decide(headers, http_base, ws_base):
    cfg = config()
    req = request(**headers)
    assert public_base(req, cfg) == http_base
    assert public_base(req, cfg, websocket=True) == ws_base


def test_no_auth_token_means_no_check():
    cfg = Config.load(env={}, dotenv_path=None)
    assert is_valid(request(), cfg, FORM)
    assert is_valid(request(**{SIGNATURE_HEADER: "nonsense"}), cfg, FORM)


def test_signature_over_public_url_and_form_is_valid():
    cfg = config(PUBLIC_HOST="abc.ngrok.app")
    url = "https://abc.ngrok.app/twiml?graph=sales&x=%2B1"
    assert is_valid(request(**signed(url, FORM)), cfg, FORM)
    # Twilio's libraries accept the URL with or without the default port.
    assert is_valid(request(**signed(url.replace(".app/", ".app:443/"), FORM)), cfg, FORM)


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="missing"),
        pytest.param(signed("https://abc.ngrok.app/twiml?graph=sales&x=%2B1", FORM, "x"), id="key"),
        pytest.param(signed("http://127.0.0.1:8080/twiml?graph=sales&x=%2B1", FORM), id="local"),
        pytest.param(signed("https://abc.ngrok.app/twiml?graph=other&x=%2B1", FORM), id="query"),
        pytest.param(signed("https://abc.ngrok.app/twiml?graph=sales&x=%2B1", {}), id="no-form"),
    ],
)
def test_wrong_or_missing_signature_is_invalid(headers):
    cfg = config(PUBLIC_HOST="abc.ngrok.app")
    assert not is_valid(request(**headers), cfg, FORM)


def test_stream_upgrade_is_checked_against_the_wss_url():
    cfg = config(PUBLIC_HOST="abc.ngrok.app")
    good = request("/ws", "GET", **signed("wss://abc.ngrok.app/ws"))
    assert is_valid(good, cfg, {}, websocket=True)
    https_signed = request("/ws", "GET", **signed("https://abc.ngrok.app/ws"))
    assert not is_valid(https_signed, cfg, {}, websocket=True)
