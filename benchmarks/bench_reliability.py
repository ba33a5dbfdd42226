"""Reliability figures, each against a real HTTP server on 127.0.0.1
(``agot/testing/fault_server.py``).

* ``rpm``: ``--rpm 120`` (2 per second), one warm-up request, then 12 offered at once: the
  most requests the server saw in any 1-second window, over the per-second rate (target
  <= 1.1), and the per-minute rate held.
* ``tokens``: a token budget of 3,000 with 8 calls in flight, each reply 60 tokens: tokens
  used over the budget (target: overshoot at most one call's reservation).
* ``accounting``: 40 requests through a storm (10% 429, 5% 500, 10% hung, 5% malformed) with a
  3 s wall budget that cuts the hung ones: the client's ``usage.calls`` and ``usage.attempts``
  against the requests the server saw (attempts should equal them).
* ``resume``: two ``agot eval --resume`` launched together on one ``--out`` (200 items): rows
  written, and the second run's exit code and message.

Run: ``python benchmarks/bench_reliability.py [--only rpm,tokens,accounting,resume]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

from agot.budget import Budget
from agot.dispatcher import Dispatcher
from agot.errors import AgotError
from agot.limits import Limits
from agot.testing.eval_workload import AGOT, eval_argv, write_city_items
from agot.testing.fault_server import FAULT_RATES, FaultPlan, FaultServer
from agot.testing.openai_stub_server import StubResponse
from agot.trace import RunRecorder, recording
from agot.types import GenerationRequest, SamplingParams

MODEL = "openai/stub-model"
QUIET = FaultPlan(rates={}, latency_s=0.01)


def _windows_max(times: list[float], width: float) -> int:
    times = sorted(times)
    return max(sum(1 for t in times[i:] if t < t0 + width) for i, t0 in enumerate(times))


async def bench_rpm() -> str:
    with FaultServer(QUIET) as server:
        async with Dispatcher(
            MODEL, api_base=server.base_url, limits=Limits(requests_per_minute=120)
        ) as d:
            # One request first: litellm's first call builds its HTTP client (~0.1-0.5 s),
            # which would delay that request alone and bunch it with the next ones at the
            # server whatever the limiter does.
            await d.generate(GenerationRequest.chat("warm-up"))
            await asyncio.gather(*(d.generate(GenerationRequest.chat(f"q{i}")) for i in range(12)))
        times = [r.received for r in server.chat_requests][1:]
    worst = _windows_max(times, 1.0)
    span = max(times) - min(times)
    per_minute = (len(times) - 1) / span * 60 if span else float("inf")
    return (
        f"rpm 120 (2/s), 12 requests: at most {worst} in one second ({worst / 2:.2f} x the "
        f"per-second rate); {per_minute:.1f} requests/min over the run ({per_minute / 120:.3f} x)"
    )


async def bench_tokens() -> str:
    reply = StubResponse.chat("Answer: x", prompt_tokens=40, completion_tokens=20)
    plan = FaultPlan(rates={}, latency_s=0.01)
    with FaultServer(plan) as server:
        server.default = lambda body: reply
        budget = 3000
        recorder = RunRecorder(Budget(max_tokens=budget))
        async with Dispatcher(
            MODEL, api_base=server.base_url, limits=Limits(max_concurrency=8)
        ) as d:

            async def one(i: int) -> None:
                try:
                    prompt = f"{i:03d} " + "word " * 28
                    await d.generate(
                        GenerationRequest.chat(prompt, params=SamplingParams(max_tokens=20))
                    )
                except AgotError:
                    pass

            with recording(recorder):
                await asyncio.gather(*(one(i) for i in range(200)))
    used = recorder.usage.total_tokens
    return (
        f"token budget {budget}, 8 in flight, 60 tokens per call: used {used} "
        f"({(used / budget - 1) * 100:+.1f}%, {used - budget} tokens over)"
    )


async def bench_accounting() -> str:
    plan = FaultPlan(
        rates={**FAULT_RATES, "hang": 0.1}, hang_s=30, latency_s=0.05, retry_after_s=0.2, seed=3
    )
    with FaultServer(plan) as server:
        async with Dispatcher(
            MODEL,
            api_base=server.base_url,
            limits=Limits(max_concurrency=4, backoff_initial_s=0.1),
        ) as d:
            recorder = RunRecorder(Budget(max_wall_s=3.0))  # after litellm's import

            async def one(i: int) -> None:
                try:
                    await d.generate(GenerationRequest.chat(f"q{i}"))
                except AgotError:
                    pass

            with recording(recorder):
                await asyncio.gather(*(one(i) for i in range(40)))
        await asyncio.sleep(0.2)
        seen = len(server.chat_requests)
    u = recorder.usage
    return (
        f"storm with hangs, 40 requests, 3 s wall budget: usage.calls {u.calls}, usage.attempts "
        f"{getattr(u, 'attempts', 'n/a')}, server saw {seen} requests"
    )


def bench_resume() -> str:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp, "hotpot_dev_distractor_v1.json")
        write_city_items(data, 200)
        table = Path(tmp, "table.json")
        table.write_text(
            json.dumps({"replies": {"*": "Answer: Corvin City"}, "latency": {"fixed_s": 0.05}})
        )
        out = Path(tmp, "out")
        out.mkdir()
        more = ["--concurrency", "20", "--resume"]
        command = [*AGOT, *eval_argv(data, f"scripted/{table}", out, *more)]
        env = {**os.environ, "HF_HUB_OFFLINE": "1"}
        procs = [
            subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for _ in range(2)
        ]
        outcomes = []
        for proc in procs:
            _, err = proc.communicate()
            last = err.decode().strip().splitlines()[-1:] if proc.returncode else []
            outcomes.append(f"exit {proc.returncode}" + (f" ({last[0][:90]})" if last else ""))
        rows = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    unique = len({r["id"] for r in rows})
    return f"two --resume at once, 200 items: {len(rows)} rows ({unique} unique); " + ", ".join(
        outcomes
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="rpm,tokens,accounting,resume")
    names = parser.parse_args().only.split(",")
    started = time.perf_counter()
    if "rpm" in names:
        print(asyncio.run(bench_rpm()), flush=True)
    if "tokens" in names:
        print(asyncio.run(bench_tokens()), flush=True)
    if "accounting" in names:
        print(asyncio.run(bench_accounting()), flush=True)
    if "resume" in names:
        print(bench_resume(), flush=True)
    print(f"({time.perf_counter() - started:.1f} s; load {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
