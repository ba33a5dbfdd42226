"""The four configurations the paper compares, run on the same items.

=====================  ==================================================================
variant                what runs
=====================  ==================================================================
``single``             one agent from the empty board (1 call per text)
``independent``        N agents from the empty board, no sharing, reported twice: majority
                       vote (``independent-vote``) and mean of P (``independent-mean``);
                       one run, so both rows cost the same N calls per text
``kcs``                the kairanban chain of N agents, prediction = last agent's P
``kcs+ibc``            the chain with the idobata round after agent m (N + N calls)
=====================  ==================================================================

All variants share one dispatcher (so rate limits and the cache hold across them) and the same
sampling settings and seed, so agent ``i`` samples with the same seed in every variant.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel, Field

from agot.dispatcher import Dispatcher
from agot.errors import ConfigError
from agot.evals.records import EvalRecord
from agot.kairanban.chain import Kairanban
from agot.kairanban.evaluate import DatasetReport, Evaluation, evaluate, summarise
from agot.kairanban.schemas import DEFAULT_LABELS

VARIANTS = ("single", "independent", "kcs", "kcs+ibc")


def variant_strategies(
    labels: Sequence[str] = DEFAULT_LABELS,
    *,
    agents: int = 5,
    idobata_at: int = 3,
    variants: Sequence[str] = VARIANTS,
    **options: Any,
) -> dict[str, Kairanban]:
    """One :class:`Kairanban` per variant name; ``options`` go to every one of them."""
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise ConfigError(f"unknown variant(s) {unknown}: choose from {', '.join(VARIANTS)}")
    # The single agent is agent 1 of the others: same model and persona as their first agent.
    single = dict(options)
    for key in ("models", "personas"):
        value = options.get(key)
        if value is not None and not isinstance(value, str):
            single[key] = list(value)[:1] or None
    build = {
        "single": lambda: Kairanban(labels, agents=1, **single),
        "independent": lambda: Kairanban(
            labels, agents=agents, independent=True, aggregate="vote", **options
        ),
        "kcs": lambda: Kairanban(labels, agents=agents, **options),
        "kcs+ibc": lambda: Kairanban(labels, agents=agents, idobata_at=idobata_at, **options),
    }
    return {name: build[name]() for name in variants}


class VariantRow(BaseModel):
    """One line of the comparison table."""

    variant: str
    aggregate: str
    report: DatasetReport


class VariantComparison(BaseModel):
    """All variants on the same items: table rows and the underlying runs."""

    labels: list[str]
    agents: int
    idobata_at: int
    n: int
    rows: list[VariantRow] = Field(default_factory=list)
    runs: dict[str, Evaluation] = Field(default_factory=dict)

    def table(self) -> str:
        """A Markdown table: metrics, final-stage entropy/variance, calls, tokens, wall time.

        ``H final`` / ``Var final``: mean entropy and variance at the last stage (see
        :mod:`agot.kairanban.metrics`); independent variants share one run, so one wall time.
        """
        head = (
            "| variant | acc | macro-F1 | Brier | log loss | ECE | H final | Var final "
            "| answered | calls | prompt tok | completion tok | wall s |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
        )
        lines = [head]
        for row in self.rows:
            r = row.report
            m = r.metrics
            last = r.stages[-1] if r.stages else None

            def f(x: float | None) -> str:
                return "-" if x is None else f"{x:.3f}"

            lines.append(
                f"| {row.variant} | {f(m.get('accuracy'))} | {f(m.get('macro_f1'))} | "
                f"{f(m.get('brier'))} | {f(m.get('log_loss'))} | {f(m.get('ece'))} | "
                f"{f(last.mean_entropy if last else None)} | "
                f"{f(last.mean_variance if last else None)} | {r.answered}/{r.n} | "
                f"{r.usage.calls} | {r.usage.prompt_tokens} | {r.usage.completion_tokens} | "
                f"{r.wall_s:.0f} |"
            )
        return "\n".join(lines)


async def compare_variants(
    records: Iterable[EvalRecord],
    *,
    labels: Sequence[str] = DEFAULT_LABELS,
    agents: int = 5,
    idobata_at: int = 3,
    variants: Sequence[str] = VARIANTS,
    model: str | None = None,
    dispatcher: Dispatcher | None = None,
    concurrency: int = 4,
    **options: Any,
) -> VariantComparison:
    """Run every variant on the same records over one dispatcher and tabulate them."""
    items = list(records)
    strategies = variant_strategies(
        labels, agents=agents, idobata_at=idobata_at, variants=variants, **options
    )
    own = dispatcher is None
    if dispatcher is None:
        dispatcher = Dispatcher(model)
    elif model is not None:
        raise ConfigError("pass either dispatcher= or model=, not both")
    comparison = VariantComparison(
        labels=list(strategies[next(iter(strategies))].labels),
        agents=agents,
        idobata_at=idobata_at,
        n=len(items),
    )
    try:
        for name, strategy in strategies.items():
            run = await evaluate(
                strategy, items, dispatcher=dispatcher, concurrency=concurrency, name=name
            )
            comparison.runs[name] = run
            if name == "independent":
                for aggregate in ("vote", "mean"):
                    comparison.rows.append(
                        VariantRow(
                            variant=f"independent-{aggregate}",
                            aggregate=aggregate,
                            report=summarise(
                                run.items,
                                aggregate=aggregate,
                                name=f"independent-{aggregate}",
                                wall_s=run.wall_s,
                            ),
                        )
                    )
            else:
                comparison.rows.append(
                    VariantRow(variant=name, aggregate=strategy.aggregate, report=run.report)
                )
    finally:
        if own:
            await dispatcher.aclose()
    return comparison
