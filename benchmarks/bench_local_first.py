"""Local-first routing: all-remote vs per-role routing vs the cascade with each signal.

A scripted workload stands in for two models (the numbers are the model, stated here):

* **small local model**: 20 ms + 0.5 ms per output token, free, 4 calls at a time (one small
  GPU or CPU box); right on easy steps, wrong on hard ones. Its confidence signals are good
  but not perfect. On a share ``--overconfident`` of hard steps (default 3%) the model is
  confidently wrong and every signal is fooled: ``self`` reports 0.85 (else 0.3 when wrong),
  the samples repeat one wrong answer (else they differ), the mean token probability is 0.8
  (else 0.55). On 5% of easy steps it is needlessly unsure: ``self`` reports 0.6 (else 0.9) and
  one of three samples strays. Right replies have mean token probability 0.92.
* **large remote model**: 150 ms + 2 ms per output token, $2.50 / $10 per million prompt /
  completion tokens, 32 calls at a time; always right.

Workload: ``--questions`` AGoT runs (d=1, L=1, N=3: decompose, 3 x assess, 3 x solve, final).
Hard steps, drawn with a fixed seed: decomposition 40% of questions, synthesis 40%, each solve
25%; assessments are easy. A question is right when its synthesis is right and no step it
rests on was answered wrongly.

Targets: the cascade keeps the all-remote accuracy within 1 point while spending at most 50%
of its remote tokens.

Run: ``python benchmarks/bench_local_first.py [--questions 200]``
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import math
import re
import time
from typing import Any

import agot
from agot import Dispatcher, Limits
from agot.backends import LatencyModel, ScriptedBackend
from agot.backends.scripted import count_tokens
from agot.routing import Router
from agot.types import BackendReply, GenerationRequest

HARD = {"decompose": 0.40, "final": 0.40, "solve": 0.25, "assess": 0.0}
PRICE = (2.5e-6, 10e-6)
#: Share of hard steps on which the small model is confidently wrong (every signal fooled).
OVERCONFIDENT = 0.03
SMALL, LARGE = "scripted:small", "scripted:large"


def draw(*key: object) -> float:
    """A uniform number in [0, 1) fixed by ``key`` (the workload's seed)."""
    digest = hashlib.sha256(repr(key).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def step_of(request: GenerationRequest) -> tuple[str, str]:
    """(question id, step id) of an AGoT request."""
    prompt = "\n".join(m.content for m in request.messages)
    qid = re.search(r"\bQ(\d+)\b", prompt).group(1)  # type: ignore[union-attr]
    if request.role == "solve" or request.role == "assess":
        sub = re.search(r"subproblem (\d+)", prompt).group(1)  # type: ignore[union-attr]
        return qid, f"{request.role}{sub}"
    return qid, request.role


def model_script(large: bool):
    def script(request: GenerationRequest) -> BackendReply:
        qid, step = step_of(request)
        role = request.role
        hard = draw(qid, step, "hard") < HARD.get(role, 0.0)
        right = large or not hard
        noise = draw(qid, step, "signal")
        sample = request.sample_index or 0
        # a wrong reply differs between samples unless this step repeats one error
        consistent = noise < OVERCONFIDENT
        wrong = "WRONG" if consistent else f"WRONG-{sample}"
        if right and not large and not hard and noise < 0.05:
            # one of three samples strays on 5% of easy steps
            ok = "ok" if sample != 1 else "ok-stray"
        else:
            ok = "ok"
        mark = ok if right else wrong
        prompt = "\n".join(m.content for m in request.messages)
        if role == "decompose":
            reply: dict[str, Any] = {
                "strategy": f"plan {mark}",
                "thoughts": [
                    {"title": f"part {i}", "content": f"subproblem {i} ({mark})"} for i in range(3)
                ],
            }
        elif role == "assess":
            reply = {"justification": "direct", "is_complex": False}
        elif role == "solve":
            reply = {"answer": f"value {mark}"}
        else:
            rests_on_wrong = "WRONG" in prompt
            reply = {
                "reasoning": "combine",
                "answer": "RIGHT" if right and not rests_on_wrong else f"{wrong}",
            }
        if "confidence" in (request.output_json_schema() or {}).get("properties", {}):
            if right:
                reply["confidence"] = 0.6 if noise < 0.05 else 0.9
            else:
                reply["confidence"] = 0.85 if consistent else 0.3
        text = json.dumps(reply)
        p, c = sum(count_tokens(m.content) for m in request.messages), count_tokens(text)
        logprob = None
        if request.logprobs:
            logprob = math.log(0.92 if right else (0.8 if consistent else 0.55))
        return BackendReply(
            text=text,
            prompt_tokens=p,
            completion_tokens=c,
            cost=(p * PRICE[0] + c * PRICE[1]) if large else 0.0,
            mean_logprob=logprob,
        )

    return script


async def run_config(name: str, router: Router | None, default: str, questions: int) -> dict:
    small = ScriptedBackend(model_script(False), model="small", latency=LatencyModel(0.020, 0.0005))
    large = ScriptedBackend(model_script(True), model="large", latency=LatencyModel(0.150, 0.002))
    router = router or Router()
    limits = {SMALL: Limits(max_concurrency=4), LARGE: Limits(max_concurrency=32)}
    strategy = agot.AGoT(max_depth=1, max_layers=1, max_nodes=3, router=router)
    gate = asyncio.Semaphore(32)
    default_backend = small if default == SMALL else large
    async with Dispatcher(default_backend, model_limits=limits) as dispatcher:
        dispatcher.add_backend(SMALL, small)
        dispatcher.add_backend(LARGE, large)

        async def one(i: int) -> agot.Result:
            async with gate:
                return await strategy.solve(f"Q{i}: what is the answer?", dispatcher=dispatcher)

        t0 = time.perf_counter()
        results = await asyncio.gather(*(one(i) for i in range(questions)))
        wall = time.perf_counter() - t0
    remote = sum((r.usage_by_model.get("large") or agot.Usage()).total_tokens for r in results)
    local_calls = sum((r.usage_by_model.get("small") or agot.Usage()).calls for r in results)
    local_tokens = sum(
        (r.usage_by_model.get("small") or agot.Usage()).total_tokens for r in results
    )
    escalated = sum(r.details.get("routing", {}).get("escalated_steps", 0) for r in results)
    cascaded = sum(r.details.get("routing", {}).get("cascaded_steps", 0) for r in results)
    return {
        "config": name,
        "accuracy": sum(r.answer == "RIGHT" for r in results) / questions,
        "remote_tokens": remote,
        "remote_cost": sum(r.usage.cost for r in results),
        "local_calls": local_calls,
        "local_tokens": local_tokens,
        "escalation_rate": escalated / cascaded if cascaded else None,
        "wall_s": wall,
        "errors": sum(bool(r.error or r.errors) for r in results),
    }


async def main(questions: int) -> list[dict]:
    per_role = {"assess": SMALL, "solve": SMALL}
    configs: list[tuple[str, Router | None, str]] = [
        ("all-remote", None, LARGE),
        ("per-role (assess, solve local)", Router(per_role), LARGE),
    ]
    for signal in ("schema", "self", "agree", "logprob"):
        router = Router(default=SMALL, escalate_to=LARGE, escalate_below=0.7, signal=signal)
        configs.append((f"cascade, signal {signal}", router, SMALL))
    rows = []
    for name, router, default in configs:
        rows.append(await run_config(name, router, default, questions))
    return rows


def report(rows: list[dict]) -> None:
    base = rows[0]
    print(
        f"{'config':34} {'acc':>6} {'d acc':>6} {'remote tok':>10} {'% remote':>8} "
        f"{'cost $':>8} {'local calls':>11} {'local tok':>9} {'escalated':>9} {'wall s':>7}"
    )
    for row in rows:
        share = row["remote_tokens"] / base["remote_tokens"]
        esc = "-" if row["escalation_rate"] is None else f"{row['escalation_rate']:.1%}"
        print(
            f"{row['config']:34} {row['accuracy']:6.1%} "
            f"{100 * (row['accuracy'] - base['accuracy']):+6.1f} {row['remote_tokens']:10d} "
            f"{share:8.1%} {row['remote_cost']:8.4f} {row['local_calls']:11d} "
            f"{row['local_tokens']:9d} {esc:>9} "
            f"{row['wall_s']:7.2f}"
        )
    for row in rows[2:]:
        within = base["accuracy"] - row["accuracy"] <= 0.01
        half = row["remote_tokens"] <= 0.5 * base["remote_tokens"]
        verdict = "meets" if within and half else "misses"
        print(f"{row['config']}: {verdict} the targets (<= 1 point, <= 50% remote tokens)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--overconfident", type=float, default=OVERCONFIDENT)
    args = parser.parse_args()
    OVERCONFIDENT = args.overconfident
    print(
        f"{args.questions} questions, small model confidently wrong on "
        f"{OVERCONFIDENT:.1%} of hard steps"
    )
    report(asyncio.run(main(args.questions)))
