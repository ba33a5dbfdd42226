"""A fault-injecting OpenAI-compatible server on 127.0.0.1, for reliability tests and benchmarks.

It is :class:`~agot.testing.openai_stub_server.OpenAIStubServer` with a seeded
:class:`FaultPlan` as its default reply: each request independently gets a 429 (with
``Retry-After``), a 500, a hung call (the reply only comes after ``hang_s``), a malformed JSON
body, or a normal chat reply after ``latency_s``. The same seed gives the same sequence of
outcomes, so a benchmark can compare two runs under the same storm. Every request is recorded
by the stub, so a test can compare what the client counted with what the server saw.

Run it standalone (``python -m agot.testing.fault_server``; it prints its base URL) to point
``agot`` at it by hand.
"""

from __future__ import annotations

import argparse
import random
import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from agot.testing.openai_stub_server import OpenAIStubServer, StubResponse

MALFORMED = b'{"id": "chatcmpl-broken", "object": "chat.completion", "choices": [{"index": 0, '


#: The faults and the share of requests that get each, by default.
FAULT_RATES: Mapping[str, float] = {"429": 0.10, "500": 0.05, "hang": 0.02, "malformed": 0.05}


@dataclass
class FaultPlan:
    """What fraction of requests fail, and how; the rest answer ``reply`` after ``latency_s``.

    ``rates`` maps each fault (``429``, ``500``, ``hang``, ``malformed``) to the share of
    requests that get it; a fault it leaves out never happens (``rates={}``: no faults).
    """

    rates: Mapping[str, float] = field(default_factory=lambda: dict(FAULT_RATES))
    latency_s: float = 0.05
    hang_s: float = 3600.0
    retry_after_s: float = 1.0
    reply: str = "It says so.\nAnswer: Corvin City"
    seed: int = 0
    #: How many requests got each outcome (``ok``, ``429``, ``500``, ``hang``, ``malformed``).
    seen: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        unknown = set(self.rates) - set(FAULT_RATES)
        if unknown:
            raise ValueError(f"unknown faults {sorted(unknown)}: use {sorted(FAULT_RATES)}")
        if sum(self.rates.values()) > 1 or min(self.rates.values(), default=0) < 0:
            raise ValueError(f"fault rates must be >= 0 and sum to at most 1, got {self.rates}")
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()

    def outcome(self) -> str:
        with self._lock:
            x = self._rng.random()
            for name, rate in self.rates.items():
                if x < rate:
                    self.seen[name] += 1
                    return name
                x -= rate
            self.seen["ok"] += 1
            return "ok"

    def __call__(self, body: Any) -> StubResponse:
        kind = self.outcome()
        if kind == "429":
            return StubResponse.error(
                429, "rate limited", headers={"Retry-After": str(self.retry_after_s)}
            )
        if kind == "500":
            return StubResponse.error(500, "internal error")
        if kind == "hang":
            response = StubResponse.chat(self.reply)
            response.delay_s = self.hang_s
            return response
        if kind == "malformed":
            return StubResponse(200, MALFORMED, delay_s=self.latency_s)
        response = StubResponse.chat(self.reply)
        response.delay_s = self.latency_s
        return response


class FaultServer(OpenAIStubServer):
    """An :class:`OpenAIStubServer` whose every reply comes from a :class:`FaultPlan`."""

    def __init__(self, plan: FaultPlan | None = None) -> None:
        self.plan = plan or FaultPlan()
        super().__init__()
        self.default = self.plan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--hang-s", type=float, default=3600.0)
    args = parser.parse_args()
    with FaultServer(FaultPlan(seed=args.seed, hang_s=args.hang_s)) as server:
        print(server.base_url, flush=True)
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
