"""MuSiQue answer EM/F1, answerability and the paired ("group") metrics, as the official
``evaluate_v1.0.py`` and ``metrics/`` define them (StonyBrookNLP/musique at commit
922ac98f19a201998dbdae6d7f2887a5258dbdeb, the v1.0 release).

* Answer EM/F1: SQuAD's rule (:mod:`agot.evals.scorers.squad`: no yes/no/noanswer rule,
  empty vs empty is 1), best over the answer and its aliases, on the whole predicted answer.
  Only answerable items enter answer EM/F1, as in the official script.
* ``full`` subset: every question comes with an unanswerable twin (same id). The official metric
  takes a predicted answerable flag beside the predicted answer, so the prompt asks for two
  fields, ``Answerable: yes|no`` and ``Answer: <phrase>`` (:data:`ANSWER_FORMAT_FULL`), and
  :func:`read_fields` reads them from the reply: the flag from the last ``Answerable:`` line
  (yes/no, true/false), the answer from the last ``Answer:`` line (the whole reply, less the
  flag's line, when there is none). A reply without a readable flag counts as answerable (it
  gave an answer) and is counted in ``answerable_unparsed``. ``answerable_acc`` is the per-item
  share of right flags; ``group_em`` and ``group_f1`` are the official "answer sufficiency"
  metrics: per question pair, the answerable twin's EM/F1 when both flags are right, else 0;
  averaged over pairs. Pairs missing a twin (``--limit``) are left out, and their interval
  resamples pairs.
* ``answerable_acc_lenient`` is agot's earlier reading, reported beside it: an item is called
  unanswerable when its answer normalises to one of a few phrases ("unanswerable", "not
  enough information", ...), whatever the flag says.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from agot.evals.records import EvalRecord
from agot.evals.scorers.base import Score, Scorer
from agot.evals.scorers.hotpotqa import normalize_squad_answer
from agot.evals.scorers.metrics import CorpusMetric
from agot.evals.scorers.squad import squad_scores
from agot.result import Result

OFFICIAL = "evaluate_v1.0.py + metrics/ (StonyBrookNLP/musique@922ac98)"

#: Normalised answers the lenient reading takes for "the paragraphs do not answer this".
UNANSWERABLE = frozenset(
    {
        "unanswerable",
        "not answerable",
        "question is unanswerable",
        "cannot be answered",
        "insufficient information",
        "not enough information",
    }
)
ANSWER_FORMAT_FULL = (
    "Some questions cannot be answered from the paragraphs given. Reply with two lines: first "
    "'Answerable: yes' if the paragraphs suffice to answer the question, or 'Answerable: no' "
    "if the question is unanswerable from them; then 'Answer: ' followed by the shortest "
    "phrase that answers the "
    "question, not a sentence (your best guess even when they do not suffice)."
)

# The last line holding each field: ``.*`` runs to the end and backs off line by line, so one
# call finds the last match; markdown emphasis around the label is allowed, and the
# possessive runs keep a line of 100,000 stars or spaces linear.
_LAST_FLAG = re.compile(r"(?ims)\A.*^[ \t*_#>-]*+answerable[ \t*_]*+[:：]([^\n]*)")
_LAST_ANSWER = re.compile(r"(?ims)\A.*^[ \t*_#>-]*+answer[ \t*_]*+[:：]([^\n]*)")
_EDGES = " \t\r\n*_"
_YES = frozenset({"yes", "true", "1", "answerable"})
_NO = frozenset({"no", "false", "0", "unanswerable", "not answerable"})


@dataclass(frozen=True)
class Fields:
    """What a ``full``-subset reply states: the answer and the answerable flag (None: none)."""

    answer: str
    answerable: bool | None


def read_fields(text: str | None) -> Fields:
    """The ``Answer:`` and ``Answerable:`` fields of a reply (the last line of each)."""
    text = text or ""
    flag: bool | None = None
    found = _LAST_FLAG.match(text) if "nswerable" in text.lower() else None
    if found is not None:
        word = found.group(1).strip(_EDGES + ".!`'\"").lower()
        flag = True if word in _YES else False if word in _NO else None
    answer = _LAST_ANSWER.match(text)
    if answer is not None:
        return Fields(answer=answer.group(1).strip(_EDGES), answerable=flag)
    if found is None:
        return Fields(answer=text.strip(), answerable=flag)
    line_start = text.rfind("\n", 0, found.start(1)) + 1
    rest = text[:line_start] + text[found.end(1) :]
    return Fields(answer=rest.strip(), answerable=flag)


def answer_scores(prediction: str | None, gold: Any) -> dict[str, float]:
    """``{"em", "f1"}`` of the whole ``prediction``, best over the answer and its aliases."""
    return squad_scores(prediction, gold)


def predicts_unanswerable(prediction: str | None) -> bool:
    """The lenient reading: the answer is one of the "cannot answer" phrases."""
    text = prediction or ""
    if len(text) > 200:  # no phrase of the set is this long, however it is spelled out
        return False
    return normalize_squad_answer(text) in UNANSWERABLE


class MuSiQueScorer(Scorer):
    """Official MuSiQue answer EM/F1; with ``full`` also answerability and group metrics."""

    name = "musique"
    matches = OFFICIAL

    def __init__(self, full: bool = False) -> None:
        self.full = full
        self.metrics = (
            (
                "em",
                "f1",
                "answerable_acc",
                "group_em",
                "group_f1",
                "answerable_unparsed",
                "answerable_acc_lenient",
            )
            if full
            else ("em", "f1")
        )
        pairs = (PairedGroupScore("group_em", "em"), PairedGroupScore("group_f1", "f1"))
        self.corpus = pairs if full else ()

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "full": self.full}

    @classmethod
    def from_description(cls, described: Mapping[str, Any]) -> MuSiQueScorer:
        return cls(full=bool(described.get("full")))

    def score_result(self, record: EvalRecord, result: Result) -> Score:
        gold_answerable = bool(record.metadata.get("answerable", True))
        prediction = result.answer
        fields = read_fields(prediction) if self.full else None
        if fields is not None:
            prediction = fields.answer
        scores: dict[str, float] = {}
        details: dict[str, Any] = {}
        answer = answer_scores(prediction, record.gold)
        if gold_answerable:
            scores.update(answer)
        if fields is not None:
            said = True if fields.answerable is None else fields.answerable
            scores["answerable_acc"] = float(said == gold_answerable)
            scores["answerable_unparsed"] = float(fields.answerable is None)
            lenient = not predicts_unanswerable(fields.answer)
            scores["answerable_acc_lenient"] = float(lenient == gold_answerable)
            details["musique"] = {
                "group": str(record.metadata.get("group", record.id)),
                "answerable": gold_answerable,
                "predicted_answerable": said,
                **answer,
            }
        return Score(prediction=prediction, scores=scores, details=details)


class PairedGroupScore(CorpusMetric):
    """MuSiQue's paired metric: per complete question pair (an answerable twin and an
    unanswerable twin), the answerable twin's ``answer`` score if both twins' answerability
    was predicted right, else 0; the mean over pairs (a lone twin is left out)."""

    def __init__(self, name: str, answer: str) -> None:
        super().__init__(name)
        self.answer = answer

    def units(self, rows: Sequence[Mapping[str, Any]]) -> list[float]:
        pairs: dict[str, list[Mapping[str, Any]]] = {}
        for row in rows:
            info = (row.get("details") or {}).get("musique")
            if isinstance(info, Mapping):
                pairs.setdefault(str(info["group"]), []).append(info)
        out: list[float] = []
        for members in pairs.values():
            answerable = [m for m in members if m["answerable"]]
            if len(members) != 2 or len(answerable) != 1:
                continue
            sufficient = all(m["predicted_answerable"] == m["answerable"] for m in members)
            out.append(float(answerable[0][self.answer]) if sufficient else 0.0)
        return out

    def compute(self, units: Sequence[float]) -> float:
        return sum(units) / len(units) if units else float("nan")


def musique_full_scorer() -> MuSiQueScorer:
    return MuSiQueScorer(full=True)
