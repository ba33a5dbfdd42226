"""Classification metrics on hand-computed cases, with labels deliberately not in sorted order.

scikit-learn reads probability columns in sorted label order; the module maps labels to indices
first, so a label order like ``pos, neg, neu`` must give the hand-computed numbers.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from agot.evals.classification_metrics import (
    accuracy,
    argmax_labels,
    brier_score,
    calibration_bins,
    classification_metrics,
    expected_calibration_error,
    log_loss,
    macro_f1,
)

LABELS = ["pos", "neg", "neu"]  # not alphabetical on purpose
GOLD = ["pos", "neg", "neu", "neg"]
PROBS = [
    [0.7, 0.2, 0.1],  # predicts pos (right), confidence 0.7
    [0.6, 0.3, 0.1],  # predicts pos (wrong), confidence 0.6
    [0.2, 0.2, 0.6],  # predicts neu (right), confidence 0.6
    [0.1, 0.8, 0.1],  # predicts neg (right), confidence 0.8
]


def test_hand_computed_metrics():
    m = classification_metrics(GOLD, PROBS, LABELS)
    assert m.n == 4
    assert m.accuracy == pytest.approx(0.75)
    # F1: pos P=1/2 R=1 -> 2/3; neg P=1 R=1/2 -> 2/3; neu -> 1
    assert m.macro_f1 == pytest.approx((2 / 3 + 2 / 3 + 1) / 3)
    # Brier: 0.14 + 0.86 + 0.24 + 0.06 over 4 items
    assert m.brier == pytest.approx(1.30 / 4)
    assert m.log_loss == pytest.approx(
        -(math.log(0.7) + math.log(0.3) + math.log(0.6) + math.log(0.8)) / 4
    )
    # bins (0.5,0.6]: 2 items, acc 0.5, conf 0.6; (0.6,0.7]: acc 1, conf 0.7;
    # (0.7,0.8]: acc 1, conf 0.8
    assert m.ece == pytest.approx(2 / 4 * 0.1 + 1 / 4 * 0.3 + 1 / 4 * 0.2)
    assert [b.count for b in m.bins] == [0, 0, 0, 0, 0, 2, 1, 1, 0, 0]


def test_dict_rows_and_label_order_give_the_same_numbers():
    rows = [dict(zip(LABELS, p, strict=True)) for p in PROBS]
    reordered = ["neg", "neu", "pos"]
    a = classification_metrics(GOLD, rows, LABELS)
    b = classification_metrics(GOLD, rows, reordered)
    for field in ("accuracy", "macro_f1", "brier", "log_loss", "ece"):
        assert getattr(a, field) == pytest.approx(getattr(b, field))


def test_bins_agree_with_sklearn_calibration_curve():
    # Imported here, not at the top: sklearn.calibration takes seconds, and every CI step
    # collects (imports) this module even when its marker deselects the test.
    from sklearn.calibration import calibration_curve

    rng = np.random.default_rng(0)
    probs = rng.dirichlet([1, 1, 1], size=200)
    gold = [LABELS[i] for i in rng.integers(0, 3, size=200)]
    pred = np.argmax(probs, axis=1)
    correct = np.array([LABELS[p] == g for p, g in zip(pred, gold, strict=True)], dtype=int)
    confidence = probs.max(axis=1)
    prob_true, prob_pred = calibration_curve(correct, confidence, n_bins=10, strategy="uniform")
    bins = [b for b in calibration_bins(gold, probs.tolist(), LABELS) if b.count]
    assert [b.accuracy for b in bins] == pytest.approx(list(prob_true))
    assert [b.confidence for b in bins] == pytest.approx(list(prob_pred))
    all_bins = calibration_bins(gold, probs.tolist(), LABELS)
    ece = expected_calibration_error(all_bins)
    assert expected_calibration_error([b.model_dump() for b in all_bins]) == ece
    counts = np.array([b.count for b in bins])
    assert ece == pytest.approx(float(np.sum(counts / 200 * np.abs(prob_true - prob_pred))))


def test_perfectly_confident_and_right_is_calibrated():
    gold = ["a", "b"]
    probs = [[1.0, 0.0], [0.0, 1.0]]
    m = classification_metrics(gold, probs, ["a", "b"])
    assert (m.accuracy, m.ece, m.brier) == (1.0, 0.0, 0.0)
    assert m.log_loss == pytest.approx(0.0, abs=1e-12)


def test_binary_brier_is_not_halved_and_zero_gold_probability_is_finite():
    assert brier_score(["a"], [[0.8, 0.2]], ["a", "b"]) == pytest.approx(0.08)
    loss = log_loss(["a"], [[0.0, 1.0]], ["a", "b"])
    assert loss == pytest.approx(-math.log(np.finfo(float).eps))


def test_predicted_override_changes_accuracy_and_ece_confidence():
    gold = ["a", "b"]
    probs = [[0.5, 0.5], [0.5, 0.5]]
    assert argmax_labels(probs, ["a", "b"]) == ["a", "a"]  # ties go to the first label
    m = classification_metrics(gold, probs, ["a", "b"], predicted=["a", "b"])
    assert m.accuracy == 1.0 and m.ece == pytest.approx(0.5)


def test_single_metric_helpers():
    assert accuracy(["x", "y"], ["x", "x"]) == 0.5
    assert macro_f1(["x", "y"], ["x", "x"], ["x", "y"]) == pytest.approx((2 / 3 + 0) / 2)


@pytest.mark.parametrize(
    ("gold", "probs", "message"),
    [
        (["pos"], [[0.5, 0.5]], "2 probabilities for 3 labels"),
        (["joy"], [[0.2, 0.3, 0.5]], "gold label 'joy' is not one of"),
        (["pos", "neg"], [[0.2, 0.3, 0.5]], "2 gold labels but 1 predictions"),
        ([], [], "no predictions"),
        (["pos"], [[-0.1, 0.6, 0.5]], "non-negative"),
        (["pos"], [{"pos": 1.0}], "no probability for label"),
    ],
)
def test_bad_inputs_raise_value_errors(gold, probs, message):
    with pytest.raises(ValueError, match=message):
        classification_metrics(gold, probs, LABELS)


def test_item_scores_average_to_the_dataset_values():
    from agot.evals.classification_metrics import item_scores

    per_item = [item_scores(g, p, LABELS) for g, p in zip(GOLD, PROBS, strict=True)]
    assert [s["accuracy"] for s in per_item] == [1.0, 0.0, 1.0, 1.0]
    assert per_item[1]["brier"] == pytest.approx(0.86)
    assert per_item[1]["log_loss"] == pytest.approx(-math.log(0.3))
    m = classification_metrics(GOLD, PROBS, LABELS)
    assert np.mean([s["brier"] for s in per_item]) == pytest.approx(m.brier)
    assert np.mean([s["log_loss"] for s in per_item]) == pytest.approx(m.log_loss)
