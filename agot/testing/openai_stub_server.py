"""A tiny OpenAI-compatible chat server for tests, standard library only.

The litellm backend must be tested over real HTTP (status codes, headers, JSON bodies going
through litellm and the OpenAI client), but without any network beyond 127.0.0.1 and without a
real model. This server answers ``POST /v1/chat/completions`` from a script: a queue of canned
responses consumed one per request (then ``default``), each with a status code, headers (for
example ``Retry-After``) and a body. It records every request it receives, with the time it
arrived, so tests can check what the client actually sent and how long it waited between tries.

>>> with OpenAIStubServer() as server:
...     server.enqueue(StubResponse.chat("hello"), StubResponse.error(500))
...     server.base_url  # 'http://127.0.0.1:<port>/v1'
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class StubResponse:
    """One canned HTTP response; ``body`` is sent as JSON unless it is already ``str``/``bytes``."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    #: Seconds to sleep before answering (to exercise client timeouts).
    delay_s: float = 0.0
    #: A request that asked for ``"stream": true`` gets a 200 chat reply as server-sent
    #: events: one chunk per word, ``token_delay_s`` apart, and after ``stall_after`` chunks
    #: (None: never) a silence of ``stall_s`` before the rest.
    token_delay_s: float = 0.0
    stall_after: int | None = None
    stall_s: float = 0.0
    #: After this many chunks the connection is closed (None: never): a stream broken mid-way.
    cut_after: int | None = None

    @classmethod
    def chat(
        cls,
        text: str,
        *,
        prompt_tokens: int = 11,
        completion_tokens: int = 7,
        finish_reason: str = "stop",
        model: str = "stub-model",
        headers: dict[str, str] | None = None,
    ) -> StubResponse:
        """A successful chat completion whose single choice says ``text``."""
        body = {
            "id": "chatcmpl-stub",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": finish_reason,
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
        return cls(200, body, dict(headers or {}))

    @classmethod
    def error(
        cls,
        status: int,
        message: str = "stub error",
        *,
        headers: dict[str, str] | None = None,
        param: str | None = None,
    ) -> StubResponse:
        """An error in OpenAI's shape: ``{"error": {"message", "type", "param", "code"}}``."""
        body = {"error": {"message": message, "type": "stub_error", "param": param, "code": status}}
        return cls(status, body, dict(headers or {}))


@dataclass
class RecordedRequest:
    """A request the server received."""

    method: str
    path: str
    #: Header names in lower case.
    headers: dict[str, str]
    body: Any
    #: ``time.monotonic()`` when the request was read.
    received: float


class OpenAIStubServer:
    """Scriptable OpenAI-compatible server on 127.0.0.1 (a free port), run in a daemon thread.

    Use it as a context manager. ``enqueue`` adds responses (or callables taking the parsed
    request body and returning one), consumed in order; when the queue is empty ``default`` is
    used (a short chat reply unless a test sets another). ``requests`` lists what arrived.
    """

    def __init__(self, default: StubResponse | None = None) -> None:
        self.default: Any = default or StubResponse.chat("stub reply")
        self.requests: list[RecordedRequest] = []
        self._queue: deque[Any] = deque()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- scripting --------------------------------------------------------------------------
    def enqueue(self, *responses: Any) -> None:
        with self._lock:
            self._queue.extend(responses)

    def _next(self, body: Any) -> StubResponse:
        with self._lock:
            item = self._queue.popleft() if self._queue else self.default
        return item(body) if callable(item) else item

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        """The chat-completion requests received, in order."""
        with self._lock:
            return [r for r in self.requests if r.path.endswith("/chat/completions")]

    # -- lifecycle --------------------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the stub server is not running")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """The API base to give an OpenAI client (ends in ``/v1``)."""
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> OpenAIStubServer:
        self._server = _Server(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # stop() waits up to one poll interval
            name="openai-stub",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> OpenAIStubServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Server(ThreadingHTTPServer):
    #: The listen backlog. The default (5) overflows when dozens of clients connect at once
    #: (every request opens a connection): the kernel then drops a handshake the client
    #: believes complete, its request is written but never read, and it waits like a hung call
    #: that the server never saw (benchmarks counted more attempts than requests served).
    request_queue_size = 256


def _headers(handler: BaseHTTPRequestHandler) -> dict[str, str]:
    return {name.lower(): value for name, value in handler.headers.items()}


def _handler_for(stub: OpenAIStubServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        # HTTP/1.0: one request per connection, so shutdown never waits on an idle keep-alive.
        protocol_version = "HTTP/1.0"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body: Any = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode("utf-8", "replace")
            stub._record(RecordedRequest("POST", self.path, _headers(self), body, time.monotonic()))
            if not self.path.rstrip("/").endswith("/chat/completions"):
                self._send(StubResponse.error(404, f"no route {self.path}"))
                return
            response = stub._next(body)  # may change the body (a test of a server ignoring it)
            streamed = isinstance(body, dict) and body.get("stream") is True
            self._send(response, streamed=streamed)

        def do_GET(self) -> None:
            stub._record(
                RecordedRequest(
                    "GET", self.path, dict(self.headers.items()), None, time.monotonic()
                )
            )
            if self.path.rstrip("/").endswith("/models"):
                self._send(StubResponse(200, {"object": "list", "data": [{"id": "stub-model"}]}))
            else:
                self._send(StubResponse.error(404, f"no route {self.path}"))

        def _send(self, response: StubResponse, *, streamed: bool = False) -> None:
            if response.delay_s:
                time.sleep(response.delay_s)
            if streamed and response.status == 200 and _is_chat(response.body):
                self._send_events(response)
                return
            if isinstance(response.body, bytes):
                payload = response.body
            elif isinstance(response.body, str):
                payload = response.body.encode()
            else:
                payload = json.dumps(response.body).encode()
            self.send_response(response.status)
            headers = {"Content-Type": "application/json", **response.headers}
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            try:
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout tests); nothing to answer

        def _send_events(self, response: StubResponse) -> None:
            """The chat reply as an OpenAI-style stream (HTTP/1.0: the body ends at close)."""
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            try:
                for index, chunk in enumerate(_stream_chunks(response.body)):
                    if index and response.token_delay_s:
                        time.sleep(response.token_delay_s)
                    if response.stall_after is not None and index == response.stall_after:
                        time.sleep(response.stall_s)
                    if index == response.cut_after:
                        return  # no finish reason, no [DONE]: the body ends at close
                    self.wfile.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
                    self.wfile.flush()
                self.wfile.write(b"data: [DONE]\n\n")
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a cut stream)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean

    return Handler


def _is_chat(body: Any) -> bool:
    return (
        isinstance(body, dict) and isinstance(body.get("choices"), list) and bool(body["choices"])
    )


def _stream_chunks(body: dict[str, Any]) -> list[dict[str, Any]]:
    """A chat completion as stream chunks: one per word, the finish reason, then usage."""
    choice = body["choices"][0]
    text = (choice.get("message") or {}).get("content") or ""
    words = [w for w in text.split(" ")]
    pieces = [w if i == 0 else " " + w for i, w in enumerate(words)] if text else []
    base = {"id": body.get("id", "chatcmpl-stub"), "object": "chat.completion.chunk"}
    chunks = [
        {**base, "choices": [{"index": 0, "delta": {"content": p}, "finish_reason": None}]}
        for p in pieces
    ]
    last: dict[str, Any] = {"index": 0, "delta": {}, "finish_reason": choice.get("finish_reason")}
    if choice.get("logprobs"):  # the token log-probabilities, all on the last chunk
        last["logprobs"] = choice["logprobs"]
    chunks.append({**base, "choices": [last]})
    if body.get("usage"):
        chunks.append({**base, "choices": [], "usage": body["usage"]})
    return chunks
