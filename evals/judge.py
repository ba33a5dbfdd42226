"""LLM-judge accuracy: a model decides whether a prediction means the same as the gold answer.

The AGoT paper reports retrieval QA (HotpotQA, MoreHopQA, HybridQA) as judge accuracy, not
EM/F1, so to compare with it we need the same kind of number beside the official metrics. The
judge is an ordinary structured request through the :class:`~agot.dispatcher.Dispatcher`, so
concurrency and rate limits, retries, schema re-asks and the on-disk cache all apply; it runs
at temperature 0, which makes the reply cacheable: a re-run or ``--resume`` over the same
predictions pays for no judge call twice. The prompt is the versioned constant
:data:`agot.prompts.judge.JUDGE`; :func:`judge_info` is what the results should record.

:func:`agreement` compares judge and EM per item, so users can see what the judge adds
(EM misses a paraphrase) or takes away (the judge accepts a near miss).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from agot.prompts.judge import JUDGE
from agot.types import SamplingParams, Usage

if TYPE_CHECKING:
    from agot.dispatcher import Dispatcher

#: Completion budget for the verdict (a boolean and one sentence).
JUDGE_MAX_TOKENS = 256

#: Longest question, gold or prediction text put into the judge prompt; longer text is cut
#: (a runaway prediction must not blow the judge's context or cost).
MAX_FIELD_CHARS = 4000


class JudgeVerdict(BaseModel):
    """The judge's structured reply."""

    equivalent: bool = Field(description="true when the prediction means the same as the gold")
    reason: str = Field(description="one short sentence saying why")


class JudgeResult(BaseModel):
    """A verdict plus what the runner records of its call: cache hit and usage."""

    verdict: JudgeVerdict
    cached: bool = False
    usage: Usage = Field(default_factory=Usage)
    #: The judge's call, for the viewer: model, sampling parameters, and (where the run keeps
    #: text) its prompt and reply. Results are redacted whole, so this is too.
    call: dict[str, Any] | None = None

    @property
    def score(self) -> float:
        """1.0 / 0.0 for the ``judge`` metric."""
        return 1.0 if self.verdict.equivalent else 0.0


def judge_info(model: str, *, max_tokens: int = JUDGE_MAX_TOKENS) -> dict[str, Any]:
    """What a results folder records about its judge (prompt version, model, decoding)."""
    return {
        "prompt": JUDGE.id,
        "model": model,
        "temperature": 0.0,
        "max_tokens": max_tokens,
        "system": JUDGE.system,
        "user": JUDGE.user,
    }


def render_gold(gold: Any) -> str:
    """Gold answers as judge-prompt text; several acceptable answers become a list."""
    if isinstance(gold, str):
        return gold
    if isinstance(gold, list | tuple | set):
        items = [render_gold(g) for g in gold]
        return items[0] if len(items) == 1 else "any of: " + " | ".join(items)
    if isinstance(gold, dict):
        return json.dumps(gold, ensure_ascii=False, sort_keys=True)
    return str(gold)


def _clip(text: str) -> str:
    text = text.strip()
    return text if len(text) <= MAX_FIELD_CHARS else text[:MAX_FIELD_CHARS] + " [...]"


def judge_request_kwargs(model: str | None, max_tokens: int) -> dict[str, Any]:
    return {
        "role": "judge",
        "node_id": "judge",
        "output_schema": JudgeVerdict,
        "params": SamplingParams(temperature=0.0, max_tokens=max_tokens),
        "model": model,
    }


async def judge(
    question: str,
    prediction: str | None,
    gold: Any,
    *,
    dispatcher: Dispatcher,
    model: str | None = None,
    max_tokens: int = JUDGE_MAX_TOKENS,
) -> JudgeResult:
    """The judge's verdict on one prediction, with what its call cost; raises the
    dispatcher's error when the call fails (the judge scorer turns that into a missing score).

    An empty prediction is not equivalent to anything and costs no call. ``model`` overrides
    the dispatcher's default model for the judge request only (judge with another model than
    the one being evaluated, under the same limits and cache).
    """
    if prediction is None or not str(prediction).strip():
        return JudgeResult(verdict=JudgeVerdict(equivalent=False, reason="no prediction to judge"))
    request = JUDGE.request(
        question=_clip(question),
        gold=_clip(render_gold(gold)),
        prediction=_clip(str(prediction)),
        request_kwargs=judge_request_kwargs(model, max_tokens),
    )
    generation = await dispatcher.generate(request)
    verdict = generation.parsed
    if not isinstance(verdict, JudgeVerdict):
        verdict = JudgeVerdict.model_validate(verdict)
    call: dict[str, Any] = {
        "model": generation.model,
        "params": request.params.model_dump(exclude_none=True),
    }
    if getattr(dispatcher, "store_text", True):
        call["messages"] = [m.model_dump() for m in request.messages]
        call["completion"] = generation.text
    return JudgeResult(verdict=verdict, cached=generation.cached, usage=generation.usage, call=call)


# -- agreement between judge and EM -------------------------------------------------------------
KINDS = ("both_true", "both_false", "judge_only", "em_only")


class AgreementExample(BaseModel):
    """One item of a kind: its id, prediction and gold (never the question text)."""

    id: str
    prediction: str | None = None
    gold: str | None = None
    judge_reason: str | None = None


class Agreement(BaseModel):
    """How often the judge and EM agree, per kind (:data:`KINDS`), with a few examples of each."""

    n: int = Field(0, description="rows that carry both a judge and an EM score")
    both_true: int = Field(0, description="rows both scorers accept")
    both_false: int = Field(0, description="rows both scorers reject")
    judge_only: int = Field(
        0, description="rows the judge accepts and EM rejects (paraphrases, or judge leniency)"
    )
    em_only: int = Field(0, description="rows EM accepts and the judge rejects")
    skipped: int = Field(0, description="rows missing either score (a failed item or judge call)")
    agreement: float | None = Field(None, description="share of the n rows where both agree")
    kappa: float | None = Field(
        None,
        description="Cohen's kappa; None where it is undefined (chance agreement is 1: both "
        "scorers give one and the same verdict)",
    )
    examples: dict[str, list[AgreementExample]] = Field(
        default_factory=dict, description="the first few rows of each kind, in row order"
    )


def _short(value: Any, limit: int = 200) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else render_gold(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _judge_reason(row: Mapping[str, Any]) -> str | None:
    """The judge's reason: ``details["judge_reason"]`` (runner rows) or ``judge["reason"]``."""
    for holder, key in ((row.get("details"), "judge_reason"), (row.get("judge"), "reason")):
        if isinstance(holder, Mapping) and isinstance(holder.get(key), str):
            return str(holder[key])
    return None


def _as_mapping(row: Any) -> Mapping[str, Any]:
    return row.model_dump() if isinstance(row, BaseModel) else row


def agreement(
    rows: Iterable[Mapping[str, Any] | BaseModel],
    *,
    judge_key: str = "judge",
    em_key: str = "em",
    examples: int = 3,
) -> Agreement:
    """Judge-vs-EM agreement over result rows (``scores`` holding both keys).

    Rows missing either score (a failed item, a failed judge call) are counted in
    ``skipped``. A score counts as "true" at >= 0.5. Examples keep the row order and carry
    the id, prediction and gold only, so GPQA question text can never leak through them.
    """
    out = Agreement(examples={kind: [] for kind in KINDS})
    for raw in rows:
        row = _as_mapping(raw)
        scores = row.get("scores") or {}
        j, e = scores.get(judge_key), scores.get(em_key)
        if j is None or e is None:
            out.skipped += 1
            continue
        j_ok, e_ok = j >= 0.5, e >= 0.5
        kind = (
            "both_true"
            if j_ok and e_ok
            else "both_false"
            if not j_ok and not e_ok
            else "judge_only"
            if j_ok
            else "em_only"
        )
        setattr(out, kind, getattr(out, kind) + 1)
        out.n += 1
        bucket = out.examples[kind]
        if len(bucket) < examples:
            reason = _judge_reason(row)
            bucket.append(
                AgreementExample(
                    id=str(row.get("id")),
                    prediction=_short(row.get("prediction")),
                    gold=_short(row.get("gold")),
                    judge_reason=_short(reason),
                )
            )
    if out.n:
        observed = (out.both_true + out.both_false) / out.n
        p_judge = (out.both_true + out.judge_only) / out.n
        p_em = (out.both_true + out.em_only) / out.n
        chance = p_judge * p_em + (1 - p_judge) * (1 - p_em)
        out.agreement = observed
        out.kappa = (observed - chance) / (1 - chance) if chance < 1 else None
    return out
