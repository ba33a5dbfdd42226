"""Answer parsers on hostile 100,000-character replies: worst time per parser.

Every parser that reads model text must stay linear (target: under 10 ms per call on a
100,000-character reply). Run: ``.venv/bin/python benchmarks/bench_parsers.py [SIZE]``.
Prints, per parser, the slowest input and its best-of-3 time, then Game of 24's two rules on
a realistic mix of reply forms (``agot/testing/game24_replies.py``): ToT's ``test_output`` rule, the
default ``success``, against agot's lenient reader, ``success_lenient`` (the default before
issue #26).
"""

from __future__ import annotations

import sys
import time

from agot.testing.game24_replies import realistic_mix
from agot.testing.hostile_inputs import hostile_replies, parsers

TARGET_MS = 10.0


def best_of(fn, text: str, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn(text)
        best = min(best, time.perf_counter() - started)
    return best * 1000


def main(size: int = 100_000) -> None:
    replies = hostile_replies(size)
    print(f"{size:,}-character hostile replies; target < {TARGET_MS:.0f} ms per call")
    worst_all = 0.0
    for name, fn in parsers().items():
        times = {label: best_of(fn, text) for label, text in replies.items()}
        label, worst = max(times.items(), key=lambda kv: kv[1])
        worst_all = max(worst_all, worst)
        print(f"  {name:28s} worst {worst:7.2f} ms  ({label})")
    print(f"slowest parser call: {worst_all:.2f} ms ({'ok' if worst_all < TARGET_MS else 'SLOW'})")
    spacy_lemmas(size)
    game24_rules()


def spacy_lemmas(size: int) -> None:
    """FanOutQA's official lemmatiser (spaCy), which the scorer runs in a worker thread."""
    from agot.evals.scorers.fanoutqa import fanoutqa_normalize, fanoutqa_normalizer

    if fanoutqa_normalizer() != "spacy":
        print("spaCy lemmatisation (FanOutQA, agot[lemma]): not installed, fallback in use")
        return
    prose = "The cities of Corvin and Pellham won 1,312 games, and the teams were full. "
    text = (prose * (size // len(prose) + 1))[:size]
    print(
        f"spaCy lemmatisation (FanOutQA, worker thread): {best_of(fanoutqa_normalize, text):.1f} ms"
    )


def game24_rules(n: int = 600) -> None:
    from agot.evals.tasks.game24_tot import tot_verdict
    from agot.evals.tasks.game24_verify import verify_answer

    mix = realistic_mix(n)
    official = sum(tot_verdict(text, numbers).ok for text, numbers, _ in mix) / n
    lenient = sum(verify_answer(text, numbers).ok for text, numbers, _ in mix) / n
    print(f"Game of 24 on a realistic mix of {n} replies (two thirds right expressions):")
    print(f"  success (ToT test_output, default) {official:.3f}")
    print(f"  success_lenient (agot's reader)    {lenient:.3f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
