"""Logging: loguru to stdout as text or JSON lines, with every secret masked.

Heroku-style: logs go to stdout, one line per event. The mask runs on the final formatted
line, so a secret cannot leak through a message, an exception text or a traceback.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable

from loguru import logger

MASK = "****"


class SecretMasker:
    """Replaces known secret values with **** in a string."""

    def __init__(self, secrets: Iterable[str] = ()):
        self._secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def add(self, *secrets: str) -> None:
        self._secrets = sorted(
            {*self._secrets, *(s for s in secrets if s and len(s) >= 4)}, key=len, reverse=True
        )

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text


masker = SecretMasker()


def phone_hint(number: str | None) -> str:
    """A caller's number as logs may show it: personal data, so only its last two digits
    ("...11"), enough to tell calls apart in a log without identifying anyone."""
    digits = "".join(ch for ch in number or "" if ch.isdigit())
    return f"...{digits[-2:]}" if len(digits) >= 4 else "?"


def _text_sink(message) -> None:
    sys.stdout.write(masker(str(message)))
    sys.stdout.flush()


def _json_sink(message) -> None:
    record = message.record
    line = {
        "ts": record["time"].isoformat(),
        "level": record["level"].name,
        "msg": record["message"],
        "module": record["name"],
        **{k: v for k, v in record["extra"].items() if isinstance(v, (str, int, float, bool))},
    }
    if record["exception"] is not None:
        line["exception"] = "".join(__import__("traceback").format_exception(*record["exception"]))
    sys.stdout.write(masker(json.dumps(line, default=str)) + "\n")
    sys.stdout.flush()


def setup_logging(fmt: str = "text", level: str = "INFO", secrets: Iterable[str] = ()) -> None:
    """(Re)configure loguru: one stdout sink, masked."""
    masker.add(*secrets)
    logger.remove()
    if fmt == "json":
        logger.add(_json_sink, level=level.upper(), backtrace=False, diagnose=False)
    else:
        logger.add(
            _text_sink,
            level=level.upper(),
            format="{time:HH:mm:ss.SSS} {level: <7} {extra[call]: <12} {message}",
            backtrace=False,
            diagnose=False,
        )
    logger.configure(extra={"call": "-"})
