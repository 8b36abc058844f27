"""Fake Groq: the OpenAI-compatible chat API under ``/openai/v1``.

pipecat's ``GroqLLMService`` is the OpenAI client pointed at Groq's base URL,
so this speaks what ``openai.AsyncOpenAI`` sends and parses: ``Authorization:
Bearer KEY``; ``GET /models``; ``POST /chat/completions`` answered either as
one JSON ``chat.completion`` or, with ``stream: true``, as Server-Sent Events
(``data: {chat.completion.chunk}`` ... ``data: [DONE]``): role delta first,
content in small token pieces (a word or a punctuation mark each) paced like Groq's
(see :data:`DEFAULT_TOKENS_PER_S`), ``finish_reason: "stop"`` and, when
``stream_options.include_usage`` is set, a final usage chunk with no choices.
Errors use the OpenAI envelope ``{"error": {"message", "type", "code"}}``.

Replies are chosen by rules matched against the last user message (see
:attr:`GroqFake.replies`); a rule may answer with a :class:`ToolCall`.
Faults (``fail_next``) are consumed one per request.

Extraction requests (what Instructor sends: not streamed, and forcing a tool with
``tool_choice`` or asking for ``response_format``) are kept apart, in
``extraction_requests``: they are answered from ``extractions`` (every rule whose substring
is in the request's text adds its fields) as a call of the forced tool (or JSON content),
and have their own faults, ``extraction_fail_next`` (one per request) and
``extraction_fault`` (every request while set): "500" or "hang". Note that the openai
client retries 429/5xx by itself (``max_retries``, default 2), honouring
``Retry-After``; a test that wants to see the error sets ``max_retries=0``.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

__all__ = ["DEFAULT_TOKENS_PER_S", "GroqFake", "ToolCall"]

# How fast a streamed answer's pieces follow its first token. Groq's model pages give
# llama-3.3-70b-versatile (GROQ_MODEL's default) ~280 tokens/s and llama-3.1-8b-instant
# ~560 (the figures other guides repeat; not measured here). A piece here is a word or a
# punctuation mark, about one token. 0 (``token_interval_s = 0``): the whole answer in one
# burst right after the first token, as the fake did before 2026-12-07.
DEFAULT_TOKENS_PER_S = 280.0


@dataclass(frozen=True)
class ToolCall:
    """A reply that calls a function instead of speaking."""

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)


Reply = str | ToolCall


@dataclass(eq=False)  # a running service: compared and hashed by identity
class GroqFake:
    """Settings (change them at any time) and records of the fake Groq API."""

    expected_key: str | None = None  # None: any non-empty key is accepted
    models: list[str] = field(
        default_factory=lambda: [
            "llama-3.3-70b-versatile",
            "llama-3.1-8b-instant",
            "openai/gpt-oss-120b",
        ]
    )
    # (substring, reply): first rule whose substring is in the last user message wins.
    replies: list[tuple[str, Reply]] = field(default_factory=list)
    default_reply: str = "You said: {last_user_text}."
    tool_result_reply: str = "Done."  # answer once a tool result is in the context
    first_token_latency_s: float = 0.0
    token_interval_s: float = 1.0 / DEFAULT_TOKENS_PER_S  # between streamed pieces; 0: burst
    fail_next: list[str] = field(default_factory=list)  # "500" | "429" | "hang" | "cut" | "ok"
    # The event loop's time at each request (aligned with `requests`), and when its first
    # token went out (time, index in `requests`): bench/turns.py's stages.
    request_times: list[float] = field(default_factory=list)
    first_token_times: list[tuple[float, int]] = field(default_factory=list)
    retry_after_s: float = 1.0  # Retry-After sent with a 429
    cut_after_tokens: int = 3  # content pieces streamed before a "cut"
    requests: list[dict] = field(default_factory=list)  # parsed chat request bodies
    # extraction (Instructor) requests: see the module docstring
    extractions: list[tuple[str, dict]] = field(default_factory=list)
    extraction_requests: list[dict] = field(default_factory=list)
    extraction_fail_next: list[str] = field(default_factory=list)  # "500" | "hang"
    extraction_fault: str | None = None
    extraction_latency_s: float = 0.0
    faults_served: list[str] = field(default_factory=list)
    _closing: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    @property
    def request_count(self) -> int:
        return len(self.requests)

    def add_routes(self, app: web.Application) -> None:
        self._closing = asyncio.Event()  # bound to the loop that will serve the app
        app.router.add_get("/openai/v1/models", self.list_models)
        app.router.add_get("/openai/v1/models/{model:.+}", self.get_model)
        app.router.add_post("/openai/v1/chat/completions", self.chat)

    async def shutdown(self) -> None:
        self._closing.set()  # releases "hang" handlers

    def choose_reply(self, messages: list[dict]) -> Reply:
        """The reply the fake gives to this conversation."""
        if messages and messages[-1].get("role") == "tool":
            return self.tool_result_reply
        text = _last_user_text(messages)
        for needle, reply in self.replies:
            if needle.lower() in text.lower():
                return reply
        return self.default_reply.format(last_user_text=text)

    # --- handlers -------------------------------------------------------------

    async def list_models(self, request: web.Request) -> web.Response:
        if denied := self._check_auth(request):
            return denied
        return web.json_response({"object": "list", "data": [_model(m) for m in self.models]})

    async def get_model(self, request: web.Request) -> web.Response:
        if denied := self._check_auth(request):
            return denied
        model = request.match_info["model"]
        if model not in self.models:
            return _model_not_found(model)
        return web.json_response(_model(model))

    async def chat(self, request: web.Request) -> web.StreamResponse:
        if denied := self._check_auth(request):
            return denied
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return _error(400, "Request body is not valid JSON.", "invalid_request_error")
        if is_extraction(body):
            return await self._extraction(request, body)
        self.requests.append(body)
        loop = asyncio.get_running_loop()
        self.request_times.append(loop.time())
        if body.get("model") not in self.models:
            return _model_not_found(body.get("model"))

        if not body.get("messages"):
            return _error(400, "'messages' : minimum number of items is 1", "invalid_request_error")

        fault = self.fail_next.pop(0) if self.fail_next else None
        if fault:
            self.faults_served.append(fault)
        if fault == "ok":  # a placeholder: this request is answered normally
            fault = None
        if fault not in (None, "500", "429", "hang", "cut"):
            message = f"Unknown fault {fault!r} in fail_next (use 500, 429, hang or cut)."
            return _error(500, message, "internal_server_error")
        if fault == "500":
            return _error(500, "Internal Server Error", "internal_server_error")
        if fault == "429":
            message = f"Rate limit reached for model `{body['model']}`. Please try again in {self.retry_after_s}s."
            headers = {"retry-after": f"{self.retry_after_s:g}"}
            return _error(429, message, "tokens", "rate_limit_exceeded", headers)
        if fault == "hang":
            await self._hang(request)
            return web.Response(status=504)

        reply = self.choose_reply(body.get("messages", []))
        if self.first_token_latency_s:
            await asyncio.sleep(self.first_token_latency_s)
        self.first_token_times.append((loop.time(), len(self.requests) - 1))
        if body.get("stream"):
            return await self._stream(request, body, reply, cut=fault == "cut")
        return web.json_response(_completion(body, reply))

    async def _extraction(self, request: web.Request, body: dict) -> web.Response:
        self.extraction_requests.append(body)
        if body.get("model") not in self.models:
            return _model_not_found(body.get("model"))
        fault = self.extraction_fail_next.pop(0) if self.extraction_fail_next else None
        fault = fault or self.extraction_fault
        if fault:
            self.faults_served.append(f"extraction:{fault}")
        if fault == "hang":
            await self._hang(request)
            return web.Response(status=504)
        if fault:
            return _error(500, "Internal Server Error", "internal_server_error")
        if self.extraction_latency_s:
            await asyncio.sleep(self.extraction_latency_s)
        text = " ".join(str(m.get("content") or "") for m in body.get("messages", []))
        fields: dict[str, Any] = {}
        for needle, values in self.extractions:
            if needle.lower() in text.lower():
                fields.update(values)
        choice = body.get("tool_choice")
        name = None
        if isinstance(choice, dict):
            name = (choice.get("function") or {}).get("name")
        if name is None and body.get("tools"):
            name = body["tools"][0].get("function", {}).get("name")
        reply: Reply = ToolCall(name, fields) if name else json.dumps(fields)
        return web.json_response(_completion(body, reply))

    # --- helpers --------------------------------------------------------------

    def _check_auth(self, request: web.Request) -> web.Response | None:
        scheme, _, key = request.headers.get("Authorization", "").partition(" ")
        if (
            scheme != "Bearer"
            or not key
            or (self.expected_key is not None and key != self.expected_key)
        ):
            return _error(401, "Invalid API Key", "invalid_request_error", "invalid_api_key")
        return None

    async def _hang(self, request: web.Request) -> None:
        """Say nothing until the client gives up (or the server stops)."""
        while not self._closing.is_set():
            transport = request.transport
            if transport is None or transport.is_closing():
                return
            await asyncio.sleep(0.02)

    async def _stream(
        self, request: web.Request, body: dict, reply: Reply, cut: bool
    ) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        chunk = _ChunkFactory(body["model"])

        async def send(payload: dict | str) -> None:
            data = payload if isinstance(payload, str) else json.dumps(payload)
            await response.write(f"data: {data}\n\n".encode())

        await send(chunk.delta({"role": "assistant", "content": ""}))
        if isinstance(reply, ToolCall):
            call = {
                "index": 0,
                "id": f"call_{uuid.uuid4().hex[:24]}",
                "type": "function",
                "function": {"name": reply.name, "arguments": json.dumps(reply.arguments)},
            }
            await send(chunk.delta({"tool_calls": [call]}))
            finish, pieces = "tool_calls", []
        else:
            finish, pieces = "stop", tokenize(reply)
        for i, piece in enumerate(pieces):
            if cut and i >= self.cut_after_tokens:
                # Drop the TCP connection mid-stream: no [DONE], an incomplete body.
                if request.transport is not None:
                    request.transport.abort()
                return response
            if i and self.token_interval_s:
                await asyncio.sleep(self.token_interval_s)
            await send(chunk.delta({"content": piece}))
        usage = _usage(body, reply)
        await send(chunk.delta({}, finish_reason=finish, x_groq={"id": chunk.id, "usage": usage}))
        if (body.get("stream_options") or {}).get("include_usage"):
            await send({**chunk.base(), "choices": [], "usage": usage})
        await send("[DONE]")
        await response.write_eof()
        return response


def is_extraction(body: dict) -> bool:
    """A structured-output request (Instructor's), not a conversation turn."""
    if body.get("stream"):
        return False
    choice = body.get("tool_choice")
    forced = isinstance(choice, dict) or choice == "required"
    return forced or bool(body.get("response_format"))


def tokenize(text: str) -> list[str]:
    """Split a reply into token-like pieces (a word with its leading space, or a
    punctuation mark) whose concatenation is exactly ``text``."""
    pieces = re.findall(r"\s*[\w']+|\s*[^\w\s]|\s+$", text)
    joined = "".join(pieces)
    if joined != text:  # unusual whitespace; never lose characters
        return [text]
    return pieces


class _ChunkFactory:
    def __init__(self, model: str):
        self.id = f"chatcmpl-{uuid.uuid4()}"
        self.model = model
        self.created = int(time.time())

    def base(self) -> dict:
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": "fp_fake",
        }

    def delta(self, delta: dict, finish_reason: str | None = None, **extra) -> dict:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return {**self.base(), "choices": [choice], **extra}


def _last_user_text(messages: list[dict]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            content = message.get("content") or ""
            if isinstance(content, list):  # content parts
                return " ".join(p.get("text", "") for p in content if p.get("type") == "text")
            return str(content)
    return ""


def _usage(body: dict, reply: Reply) -> dict:
    prompt = sum(len(str(m.get("content") or "").split()) for m in body.get("messages", []))
    completion = len(tokenize(reply)) if isinstance(reply, str) else 10
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _completion(body: dict, reply: Reply) -> dict:
    message: dict[str, Any] = {
        "role": "assistant",
        "content": reply if isinstance(reply, str) else None,
    }
    finish = "stop"
    if isinstance(reply, ToolCall):
        finish = "tool_calls"
        message["tool_calls"] = [
            {
                "id": f"call_{uuid.uuid4().hex[:24]}",
                "type": "function",
                "function": {"name": reply.name, "arguments": json.dumps(reply.arguments)},
            }
        ]
    return {
        "id": f"chatcmpl-{uuid.uuid4()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body["model"],
        "system_fingerprint": "fp_fake",
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
        "usage": _usage(body, reply),
    }


def _model(model_id: str) -> dict:
    return {
        "id": model_id,
        "object": "model",
        "created": 1693721698,
        "owned_by": "Fake",
        "active": True,
    }


def _error(
    status: int, message: str, type_: str, code: str | None = None, headers=None
) -> web.Response:
    error: dict[str, Any] = {"message": message, "type": type_}
    if code:
        error["code"] = code
    return web.json_response({"error": error}, status=status, headers=headers)


def _model_not_found(model: Any) -> web.Response:
    message = f"The model `{model}` does not exist or you do not have access to it."
    return _error(404, message, "invalid_request_error", "model_not_found")
