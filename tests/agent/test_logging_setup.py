"""agent/logging_setup.py: text and JSON lines on stdout, secrets masked everywhere."""

import json

from loguru import logger

from agent.logging_setup import SecretMasker, phone_hint, setup_logging

SECRET = "gsk-super-secret-value-42"


def test_json_lines_with_call_context_and_masked_secret(capsys):
    setup_logging("json", "INFO", [SECRET])
    with logger.contextualize(call="CA123"):
        logger.info(f"connecting with key {SECRET}")
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["level"] == "INFO" and line["call"] == "CA123"
    assert line["msg"] == "connecting with key ****"


def test_exception_text_and_traceback_are_masked(capsys):
    setup_logging("text", "INFO", [SECRET])
    try:
        raise RuntimeError(f"provider refused {SECRET}")
    except RuntimeError:
        logger.exception("call failed")
    out = capsys.readouterr().out
    assert "call failed" in out and "provider refused ****" in out
    assert SECRET not in out


def test_masker_prefers_longest_secret_and_ignores_tiny_values():
    mask = SecretMasker(["abcd", "abcdef-long", "x"])
    assert mask("abcdef-long and abcd and x") == "**** and **** and x"


def test_a_callers_number_is_logged_as_its_last_two_digits_only():
    assert phone_hint("+15550001234") == "...34"
    assert phone_hint("client:alice") == "?" and phone_hint(None) == "?" and phone_hint("") == "?"
