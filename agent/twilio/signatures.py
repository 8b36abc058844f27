"""Twilio request signatures (`X-Twilio-Signature`) on webhooks and the stream upgrade.

Twilio signs the exact URL it requested (plus, for form POSTs, the sorted form parameters)
with HMAC-SHA1 keyed by the auth token. Behind a tunnel or proxy the URL Twilio used is the
public one, so it is rebuilt from PUBLIC_HOST, never from the local address. The `twilio`
package's `RequestValidator` does the cryptography (and tries the URL with and without an
explicit port, as Twilio's own libraries do).
"""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web
from twilio.request_validator import RequestValidator

from agent.config import Config

SIGNATURE_HEADER = "X-Twilio-Signature"


def public_base(request: web.Request, config: Config, *, websocket: bool = False) -> str:
    """Scheme and host Twilio uses to reach us: PUBLIC_HOST when set, else the request's."""
    if config.public_host:
        scheme = "wss" if websocket else "https"
        host = config.public_host
    else:
        forwarded = _first(request.headers.get("X-Forwarded-Proto")) or request.scheme
        secure = forwarded.lower() in ("https", "wss")
        scheme = ("wss" if secure else "ws") if websocket else ("https" if secure else "http")
        host = _first(request.headers.get("X-Forwarded-Host")) or request.host
    return f"{scheme}://{host}"


def _first(header: str | None) -> str:
    """The client-side value of an X-Forwarded-* header: proxies chain values with commas."""
    return (header or "").split(",")[0].strip()


def public_url(request: web.Request, config: Config, *, websocket: bool = False) -> str:
    """The full URL Twilio requested (path and query included)."""
    return f"{public_base(request, config, websocket=websocket)}{request.rel_url}"


def is_valid(
    request: web.Request, config: Config, params: Mapping[str, str], *, websocket: bool = False
) -> bool:
    """True when signature checks are off (no auth token) or the signature matches."""
    if not config.twilio_auth_token:
        return True
    signature = request.headers.get(SIGNATURE_HEADER)
    if not signature:
        return False
    validator = RequestValidator(config.twilio_auth_token.reveal())
    return bool(
        validator.validate(
            public_url(request, config, websocket=websocket), dict(params), signature
        )
    )
