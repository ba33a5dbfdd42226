"""An OpenAI-compatible chat server on 127.0.0.1 that answers every request after a fixed delay.

For throughput benchmarks: unlike the scriptable stub (a thread per request, one request per
connection), it serves HTTP/1.1 keep-alive connections from one asyncio loop in its own thread,
so thousands of requests cost it little CPU and its timing is the delay it was given. It
records when each request arrived and when its reply left (``time.monotonic``), so a benchmark
can measure the span the server was busy, the time to the first request, and gaps between
bursts.

Run standalone (``python -m agot.testing.latency_server --latency 0.25``) to point agot at it
by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

REPLY = "It says so.\nAnswer: Corvin City"


@dataclass
class Served:
    """One request: when it arrived and when its reply was written."""

    arrived: float
    replied: float = 0.0


@dataclass
class LatencyServer:
    """Answers ``POST .../chat/completions`` with ``reply`` after ``latency_s`` seconds."""

    latency_s: float = 0.25
    reply: str = REPLY
    served: list[Served] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> LatencyServer:
        self._thread = threading.Thread(target=self._run, name="latency-server", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        return self

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop

        async def open_server() -> None:
            self._server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
            self.port = self._server.sockets[0].getsockname()[1]
            self._ready.set()

        loop.run_until_complete(open_server())
        loop.run_forever()
        loop.close()

    def stop(self) -> None:
        loop = self._loop
        if loop is None:
            return

        async def shut() -> None:
            if self._server is not None:
                self._server.close()
            loop.stop()

        asyncio.run_coroutine_threadsafe(shut(), loop)
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> LatencyServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- serving ------------------------------------------------------------------------------
    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value.strip())
                body = await reader.readexactly(length) if length else b""
                record = Served(arrived=time.monotonic())
                self.served.append(record)
                await asyncio.sleep(self.latency_s)
                payload = self._payload(body)
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {len(payload)}\r\n\r\n".encode()
                    + payload
                )
                await writer.drain()
                record.replied = time.monotonic()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    def _payload(self, body: bytes) -> bytes:
        try:
            request: Any = json.loads(body)
            prompt_chars = sum(len(m.get("content") or "") for m in request["messages"])
        except (ValueError, KeyError, TypeError, AttributeError):
            prompt_chars = 0
        reply = {
            "id": "chatcmpl-latency",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": "latency-model",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": self.reply},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt_chars // 4 + 1,
                "completion_tokens": 9,
                "total_tokens": prompt_chars // 4 + 10,
            },
        }
        return json.dumps(reply).encode()

    # -- what it saw --------------------------------------------------------------------------
    def busy_span(self) -> float:
        """Seconds from the first request's arrival to the last reply."""
        if not self.served:
            return 0.0
        return max(s.replied for s in self.served) - min(s.arrived for s in self.served)

    def first_arrival(self) -> float | None:
        return min((s.arrived for s in self.served), default=None)

    def last_reply(self) -> float | None:
        return max((s.replied for s in self.served), default=None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.25)
    args = parser.parse_args()
    with LatencyServer(args.latency) as server:
        print(server.base_url, flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
