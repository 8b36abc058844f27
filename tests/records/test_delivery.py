"""Webhook signatures: what the sender signs is what README's receiver snippet verifies."""

from __future__ import annotations

import hashlib
import hmac
import re
import time

from agent.records import delivery
from tests.conftest import ROOT


def test_sign_and_verify():
    body = b'{"call_sid":"CA1"}'
    ts = str(int(time.time()))
    sig = delivery.sign("s3cret", ts, body)
    assert (
        sig
        == "sha256=" + hmac.new(b"s3cret", ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    )
    assert delivery.verify("s3cret", body, ts, sig)
    assert not delivery.verify("other", body, ts, sig)
    assert not delivery.verify("s3cret", body + b" ", ts, sig)
    assert not delivery.verify(
        "s3cret", body, str(int(ts) - 3600), delivery.sign("s3cret", str(int(ts) - 3600), body)
    )
    assert not delivery.verify("s3cret", body, "soon", sig)


def test_readme_receiver_snippet_verifies_a_real_signature():
    readme = (ROOT / "README.md").read_text()
    snippet = re.search(r"```python\n(# verify a Switchboard call webhook.*?)```", readme, re.S)
    assert snippet, "README lost its webhook verification snippet"
    namespace: dict = {}
    exec(snippet.group(1), namespace)
    body, ts = b'{"event":"call.completed"}', str(int(time.time()))
    headers = {
        "X-Switchboard-Timestamp": ts,
        "X-Switchboard-Signature": delivery.sign("k3y", ts, body),
    }
    assert namespace["verify"](body, headers, "k3y")
    assert not namespace["verify"](body + b"x", headers, "k3y")
