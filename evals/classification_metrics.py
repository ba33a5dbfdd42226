"""Classification metrics over predicted distributions: accuracy, macro-F1, Brier, log loss, ECE.

scikit-learn computes all but ECE; this module only arranges the inputs for it. Labels are
mapped to integer indices in the caller's label order before anything reaches scikit-learn,
because scikit-learn reads the columns of a probability matrix in *sorted* label order (a
``LabelBinarizer`` sorts string labels alphabetically), which would silently misalign
columns for label sets such as SST-5's ``very negative .. very positive``.

Definitions (``N`` items, ``L`` labels, ``p_i`` the predicted distribution of item ``i``, ``y_i``
its gold label, ``ŷ_i`` its predicted label):

* **accuracy**: share of items with ``ŷ_i = y_i`` (``sklearn.metrics.accuracy_score``);
* **macro-F1**: unweighted mean over the ``L`` labels of the per-label F1, labels never predicted
  nor gold counting 0 (``f1_score(average="macro", zero_division=0)``);
* **Brier score**: ``(1/N) sum_i sum_l (p_i(l) - [l = y_i])^2``, the original multi-class
  definition, range [0, 2], *not* halved for two labels so values compare across label counts
  (``brier_score_loss(scale_by_half=False)``);
* **log loss**: ``-(1/N) sum_i ln p_i(y_i)``, probabilities clipped to
  ``[eps, 1 - eps]`` with ``eps`` the float64 machine epsilon, so a zero on the gold label costs
  about 36 nats instead of infinity (``sklearn.metrics.log_loss``);
* **ECE** (expected calibration error, top-label): confidence ``c_i = p_i(ŷ_i)``, correctness
  ``a_i = [ŷ_i = y_i]``; ``n_bins`` equal-width bins over [0, 1], right-closed like
  ``sklearn.calibration.calibration_curve`` (bin ``b`` holds ``(b/n, (b+1)/n]``, the first
  also holds 0); ``ECE = sum_b (n_b / N) |mean_b(a) - mean_b(c)|`` over non-empty bins.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, Field

ProbRow = Mapping[str, float] | Sequence[float]


class CalibrationBin(BaseModel):
    """One ECE bin of top-label confidences."""

    lower: float = Field(description="lower edge (exclusive, but 0 for the first bin)")
    upper: float = Field(description="upper edge (inclusive)")
    count: int = Field(description="items whose top-label confidence falls in the bin")
    confidence: float | None = Field(
        None, description="their mean top-label probability (None for an empty bin)"
    )
    accuracy: float | None = Field(
        None, description="share of them whose top label is the gold one (None when empty)"
    )


class ClassificationMetrics(BaseModel):
    """Headline metrics of one set of predictions (see the module docstring)."""

    n: int
    accuracy: float
    macro_f1: float
    brier: float
    log_loss: float
    ece: float
    n_bins: int = 10
    bins: list[CalibrationBin] = Field(default_factory=list)


def _matrix(probs: Sequence[ProbRow], labels: Sequence[str]) -> Any:
    import numpy as np

    rows = []
    for i, row in enumerate(probs):
        if isinstance(row, Mapping):
            missing = [label for label in labels if label not in row]
            if missing:
                raise ValueError(f"prediction {i} has no probability for label(s) {missing}")
            rows.append([float(row[label]) for label in labels])
        else:
            values = [float(x) for x in row]
            if len(values) != len(labels):
                raise ValueError(
                    f"prediction {i} has {len(values)} probabilities for {len(labels)} labels"
                )
            rows.append(values)
    matrix = np.asarray(rows, dtype=float).reshape(len(rows), len(labels))
    if (matrix < 0).any():
        raise ValueError("probabilities must be non-negative")
    return matrix


def _indices(values: Sequence[str], labels: Sequence[str], what: str) -> Any:
    import numpy as np

    position = {label: i for i, label in enumerate(labels)}
    out = []
    for v in values:
        if v not in position:
            raise ValueError(f"{what} label {v!r} is not one of {list(labels)}")
        out.append(position[v])
    return np.asarray(out, dtype=int)


def _check(gold: Sequence[str], probs: Sequence[Any], labels: Sequence[str]) -> None:
    if len(gold) != len(probs):
        raise ValueError(f"{len(gold)} gold labels but {len(probs)} predictions")
    if len(gold) == 0:
        raise ValueError("no predictions to score")
    if len(set(labels)) != len(labels) or len(labels) < 2:
        raise ValueError(f"need at least two distinct labels, got {list(labels)}")


def argmax_labels(probs: Sequence[ProbRow], labels: Sequence[str]) -> list[str]:
    """The most probable label of each row (ties go to the label listed first)."""
    import numpy as np

    matrix = _matrix(probs, labels)
    return [labels[int(i)] for i in np.argmax(matrix, axis=1)]


def accuracy(gold: Sequence[str], predicted: Sequence[str]) -> float:
    from sklearn.metrics import accuracy_score

    if len(gold) != len(predicted) or not gold:
        raise ValueError("accuracy needs equally many (and some) gold and predicted labels")
    return float(accuracy_score(list(gold), list(predicted)))


def macro_f1(gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> float:
    from sklearn.metrics import f1_score

    y = _indices(gold, labels, "gold")
    p = _indices(predicted, labels, "predicted")
    return float(f1_score(y, p, labels=list(range(len(labels))), average="macro", zero_division=0))


def brier_score(gold: Sequence[str], probs: Sequence[ProbRow], labels: Sequence[str]) -> float:
    from sklearn.metrics import brier_score_loss

    _check(gold, probs, labels)
    y = _indices(gold, labels, "gold")
    return float(
        brier_score_loss(
            y, _matrix(probs, labels), labels=list(range(len(labels))), scale_by_half=False
        )
    )


def log_loss(gold: Sequence[str], probs: Sequence[ProbRow], labels: Sequence[str]) -> float:
    from sklearn.metrics import log_loss as sk_log_loss

    _check(gold, probs, labels)
    y = _indices(gold, labels, "gold")
    return float(sk_log_loss(y, _matrix(probs, labels), labels=list(range(len(labels)))))


def calibration_bins(
    gold: Sequence[str],
    probs: Sequence[ProbRow],
    labels: Sequence[str],
    *,
    predicted: Sequence[str] | None = None,
    n_bins: int = 10,
) -> list[CalibrationBin]:
    """Top-label reliability bins (equal width, right-closed; see the module docstring)."""
    import numpy as np

    _check(gold, probs, labels)
    if n_bins < 1:
        raise ValueError(f"n_bins must be >= 1, got {n_bins}")
    matrix = _matrix(probs, labels)
    y = _indices(gold, labels, "gold")
    if predicted is None:
        pred = np.argmax(matrix, axis=1)
    else:
        if len(predicted) != len(gold):
            raise ValueError(f"{len(gold)} gold labels but {len(predicted)} predicted labels")
        pred = _indices(predicted, labels, "predicted")
    confidence = matrix[np.arange(len(pred)), pred]
    correct = (pred == y).astype(float)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # Same assignment as sklearn.calibration.calibration_curve: a value equal to an inner edge
    # falls in the lower bin.
    which = np.searchsorted(edges[1:-1], confidence, side="left")
    out = []
    for b in range(n_bins):
        mask = which == b
        count = int(mask.sum())
        out.append(
            CalibrationBin(
                lower=float(edges[b]),
                upper=float(edges[b + 1]),
                count=count,
                confidence=float(confidence[mask].mean()) if count else None,
                accuracy=float(correct[mask].mean()) if count else None,
            )
        )
    return out


def expected_calibration_error(bins: Sequence[CalibrationBin | Mapping[str, Any]]) -> float:
    """Top-label ECE of reliability bins (:func:`calibration_bins`, or their dumps):
    ``sum_b (n_b / N) |mean_b(a) - mean_b(c)|`` over the non-empty bins."""
    rows = [b if isinstance(b, CalibrationBin) else CalibrationBin.model_validate(b) for b in bins]
    total = sum(b.count for b in rows)
    return float(
        sum(
            b.count / total * abs(b.accuracy - b.confidence)  # type: ignore[operator]
            for b in rows
            if b.count
        )
    )


def classification_metrics(
    gold: Sequence[str],
    probs: Sequence[ProbRow],
    labels: Sequence[str],
    *,
    predicted: Sequence[str] | None = None,
    n_bins: int = 10,
) -> ClassificationMetrics:
    """All headline metrics at once.

    ``predicted`` defaults to each row's most probable label (ties to the first label); pass it
    when the decision rule differs (a majority vote that breaks ties on mean probability).
    """
    _check(gold, probs, labels)
    pred = list(predicted) if predicted is not None else argmax_labels(probs, labels)
    bins = calibration_bins(gold, probs, labels, predicted=pred, n_bins=n_bins)
    return ClassificationMetrics(
        n=len(gold),
        accuracy=accuracy(gold, pred),
        macro_f1=macro_f1(gold, pred, labels),
        brier=brier_score(gold, probs, labels),
        log_loss=log_loss(gold, probs, labels),
        ece=expected_calibration_error(bins),
        n_bins=n_bins,
        bins=bins,
    )


def item_scores(gold: str, probs: ProbRow, labels: Sequence[str]) -> dict[str, float]:
    """Scores of one item, for a per-item results file.

    ``accuracy`` is 0 or 1 (top label, ties to the first label); ``brier`` and ``log_loss`` use
    the definitions above, so their mean over items is the dataset value.
    """
    predicted = argmax_labels([probs], labels)[0]
    return {
        "accuracy": float(predicted == gold),
        "brier": brier_score([gold], [probs], labels),
        "log_loss": log_loss([gold], [probs], labels),
    }
