"""The client at the speed of the server: ``agot eval`` and ``agot solve`` over HTTP to a server
with a fixed latency (``agot/testing/latency_server.py`` on 127.0.0.1, HTTP/1.1 keep-alive).

Three measurements, each for the direct HTTP client (the default for ``openai/<name>`` with an
endpoint) and for litellm (``-M client=litellm``), in one run so their ratios compare:

* **eval throughput**: ``agot eval hotpotqa --strategy direct`` of ``--items`` (500) items at
  ``--concurrency`` (64), the server answering every call after ``--latency`` (0.25 s). The
  server's busy span (first request in to last reply out) against the ideal
  ``items * latency / concurrency``; target <= 1.25x. Also: seconds from the process start to
  the first request the server received, and from the last reply to the process exit.
* **CPU to the first request**: the eval process's CPU seconds when the server received its
  first request (start-up is one thread's work, so on a loaded machine this is the better
  guide to an idle machine's wall time); target: the first request within 0.5 s.
* **CPU per request**: the eval process's CPU seconds (user + system) over its requests, less
  those of a run of ``--small`` (50) items, so start-up and imports cancel out.
* **time to first request of ``agot solve``** (``--strategy direct``), on the same server: the
  process start to the request's arrival (target <= 1.5 s on an idle machine), and the CPU
  seconds of the whole ``agot solve`` process (start-up is one thread's work, so on a loaded
  machine this is the better guide to an idle machine's wall time).

Run: ``python benchmarks/bench_http_client.py [--items 500] [--concurrency 64] [--latency 0.25]
[--clients http,litellm] [--repeat 1]``. Timings depend on the machine's load: compare ratios
measured in one run.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import tempfile
import time
from pathlib import Path

from agot.testing.eval_workload import AGOT, eval_argv, write_city_items
from agot.testing.latency_server import LatencyServer

MODEL = "openai/latency-model"
SPAN_TARGET = 1.25
FIRST_REQUEST_TARGET_S = 1.5
EVAL_FIRST_REQUEST_TARGET_S = 0.5
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "LITELLM_LOCAL_MODEL_COST_MAP": "True"}


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_eval(items: int, concurrency: int, latency: float, client: str) -> dict[str, float]:
    """One ``agot eval`` subprocess against a fresh server: its timings and CPU."""
    with tempfile.TemporaryDirectory() as tmp, LatencyServer(latency) as server:
        data = write_city_items(Path(tmp, "hotpot_dev_distractor_v1.json"), items)
        more = ["--api-base", server.base_url, "--concurrency", str(concurrency)]
        more += ["-M", f"client={client}"]
        command = [*AGOT, *eval_argv(data, MODEL, Path(tmp, "out"), *more)]
        cpu0 = children_cpu()
        started = time.monotonic()
        with tempfile.TemporaryFile("w+") as err:
            proc = subprocess.Popen(command, env=ENV, stdout=subprocess.DEVNULL, stderr=err)
            cpu_first = cpu_at_first_request(proc, server)
            returncode = proc.wait()
            ended = time.monotonic()
            err.seek(0)
            stderr = err.read()
        cpu = children_cpu() - cpu0
        if returncode != 0:
            raise SystemExit(f"agot eval failed ({returncode}): {stderr[-2000:]}")
        first, last = server.first_arrival(), server.last_reply()
        assert first is not None and last is not None
        requests = len(server.served)
        return {
            "requests": requests,
            "span_s": server.busy_span(),
            "ideal_s": requests * latency / concurrency,
            "first_request_s": first - started,
            "exit_after_last_s": ended - last,
            "wall_s": ended - started,
            "cpu_s": cpu,
            "cpu_first_s": cpu_first,
        }


def cpu_at_first_request(proc: subprocess.Popen[str], server: LatencyServer) -> float:
    """The CPU seconds ``proc`` had used when the server received its first request (read
    from /proc every few milliseconds; NaN where there is no /proc). On a loaded machine this,
    not the wall time, says what an idle machine's start-up would be."""
    stat = Path(f"/proc/{proc.pid}/stat")
    while proc.poll() is None and server.first_arrival() is None:
        time.sleep(0.002)
    try:
        fields = stat.read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def solve_first_request(latency: float, client: str) -> tuple[float, float]:
    """Seconds from the start of ``agot solve`` to the arrival of its first request, and the
    CPU seconds the whole process used (what an idle machine's wall time would be, roughly,
    since start-up is one thread's work)."""
    with LatencyServer(latency) as server:
        command = [*AGOT, "solve", "Which city is it about?", "--strategy", "direct"]
        command += ["--model", MODEL, "--api-base", server.base_url, "-M", f"client={client}"]
        cpu0 = children_cpu()
        started = time.monotonic()
        proc = subprocess.run([*command, "--quiet"], env=ENV, capture_output=True, text=True)
        cpu = children_cpu() - cpu0
        if proc.returncode != 0:
            raise SystemExit(f"agot solve failed ({proc.returncode}): {proc.stderr[-2000:]}")
        first = server.first_arrival()
        assert first is not None
        return first - started, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=500)
    parser.add_argument("--small", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--latency", type=float, default=0.25)
    parser.add_argument("--clients", default="http,litellm")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    clients = [c.strip() for c in args.clients.split(",") if c.strip()]
    print(
        f"{args.items} direct items, --concurrency {args.concurrency}, {args.latency} s per "
        f"call (ideal span {args.items * args.latency / args.concurrency:.2f} s); CPU per "
        f"request from {args.items} - {args.small} items"
    )
    header = (
        f"{'client':8} {'span s':>7} {'x ideal':>7} {'1st req s':>9} {'exit s':>7} "
        f"{'CPU to 1st s':>12} {'CPU ms/req':>10} {'solve 1st req s':>15} {'solve CPU s':>11}"
    )
    print(header)
    for _ in range(args.repeat):
        for client in clients:
            big = run_eval(args.items, args.concurrency, args.latency, client)
            small = run_eval(args.small, args.concurrency, args.latency, client)
            extra = big["requests"] - small["requests"]
            cpu_ms = 1000 * (big["cpu_s"] - small["cpu_s"]) / extra if extra > 0 else 0.0
            solve, solve_cpu = solve_first_request(args.latency, client)
            ratio = big["span_s"] / big["ideal_s"]
            print(
                f"{client:8} {big['span_s']:7.2f} {ratio:7.2f} {big['first_request_s']:9.2f} "
                f"{big['exit_after_last_s']:7.2f} {big['cpu_first_s']:12.2f} {cpu_ms:10.2f} "
                f"{solve:15.2f} {solve_cpu:11.2f}",
                flush=True,
            )
    print(
        f"targets: span <= {SPAN_TARGET} x ideal; eval's first request <= "
        f"{EVAL_FIRST_REQUEST_TARGET_S} s and solve's <= {FIRST_REQUEST_TARGET_S} s on an idle "
        "machine"
    )


if __name__ == "__main__":
    main()
