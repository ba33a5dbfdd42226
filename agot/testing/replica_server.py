"""A model replica for fleet tests: an OpenAI-compatible server with batch slots and a speed.

Standard library only, on 127.0.0.1. Each chat request takes one of ``slots`` batch slots
(requests beyond them queue), then "generates" ``tokens`` output tokens at ``tpot_s`` seconds
each after ``ttft_s``, and answers with the replica's name and the last user message, so a
test can tell who served what. :meth:`kill` stops it the way a crash does: listening stops
(new connections are refused) and requests in progress are dropped without a reply.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class ReplicaServer:
    def __init__(
        self,
        name: str,
        *,
        slots: int = 2,
        ttft_s: float = 0.01,
        tpot_s: float = 0.001,
        tokens: int = 20,
        hang_after: int | None = None,
    ) -> None:
        self.name, self.ttft_s, self.tpot_s, self.tokens = name, ttft_s, tpot_s, tokens
        self._slots = threading.BoundedSemaphore(slots)
        self._lock = threading.Lock()
        self._active: set[socket.socket] = set()
        self.served: list[tuple[float, str]] = []  # (Unix time answered, prompt)
        self.received: list[float] = []
        self.killed_at: float | None = None
        #: After this many replies, requests hang until the kill (so some are surely in flight).
        self.hang_after = hang_after
        self._killed = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> ReplicaServer:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def kill(self) -> None:
        """Crash: refuse new connections and drop the ones in progress."""
        self.killed_at = time.time()
        self._killed.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        with self._lock:
            for sock in list(self._active):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    stop = kill

    def __enter__(self) -> ReplicaServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self.kill()

    def _serve(self, body: dict[str, Any]) -> bytes | None:
        prompt = str(body["messages"][-1]["content"])
        with self._slots:
            if self.killed_at is not None:
                return None
            if self.hang_after is not None and len(self.served) >= self.hang_after:
                self._killed.wait(timeout=30)
                return None
            time.sleep(self.ttft_s + self.tpot_s * self.tokens)
            if self.killed_at is not None:
                return None
            with self._lock:
                self.served.append((time.time(), prompt))
        reply = {
            "id": "chatcmpl-replica",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "replica"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": f"{self.name}: {prompt}"},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": 10,
                "completion_tokens": self.tokens,
                "total_tokens": 10 + self.tokens,
            },
        }
        return json.dumps(reply).encode()


def _handler(replica: ReplicaServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def do_POST(self) -> None:
            with replica._lock:
                replica._active.add(self.connection)
                replica.received.append(time.time())
            try:
                length = int(self.headers.get("Content-Length") or 0)
                payload = replica._serve(json.loads(self.rfile.read(length)))
                if payload is None:
                    return  # killed: the connection is dropped without a reply
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except OSError:
                pass
            finally:
                with replica._lock:
                    replica._active.discard(self.connection)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler
