"""Scorer parity: every expected number below is worked out by hand from the official rules.

HotpotQA (hotpot_evaluate_v1.py): normalise = lowercase, remove string.punctuation, replace the
articles a/an/the (as whole words) by spaces, collapse white space. EM = equal normalised
strings. F1 = token overlap counted with multiplicity (Counter intersection); 0 when either
side normalises to yes/no/noanswer and the two differ. FanOutQA: loose accuracy = share of gold
answer strings (dict keys and values, list items) found as whole words in the normalised
prediction; strict = all found.
"""

from __future__ import annotations

import pytest

from agot.errors import ConfigError
from agot.evals.records import EvalRecord
from agot.evals.scorers import (
    FanOutQAScorer,
    MultipleChoiceScorer,
    QAScorer,
    answer_in_text,
    exact_match,
    extract_choice,
    f1_score,
    fanoutqa_normalize,
    get_scorer,
    normalize_squad_answer,
    qa_scores,
)
from agot.evals.stats import bootstrap_mean, paired_comparison, sign_test
from agot.result import Result


# -- HotpotQA normalisation ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The  Amsel River!", "amsel river"),
        ("An apple a day", "apple day"),
        ("  Amsel \n\t River ", "amsel river"),
        ("theatre Anna", "theatre anna"),  # articles only as whole words
        ("U.S.A.", "usa"),  # punctuation is deleted, not replaced by a space
        ("rock-and-roll", "rockandroll"),
        ("the-end", "theend"),  # punctuation goes first, so no article is left to drop
        ("A", ""),
        ("River’s", "river’s"),  # curly quote is not in string.punctuation
    ],
)
def test_normalize_squad_answer_matches_the_official_steps(text, expected):
    assert normalize_squad_answer(text) == expected


# -- EM and F1 -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("prediction", "gold", "em", "f1"),
    [
        ("Amsel River", "the Amsel River", 1.0, 1.0),
        ("Amsel", "the Amsel River", 0.0, 2 * 1.0 * 0.5 / 1.5),  # p=1, r=1/2
        # Counter intersection: {paris: 1} shared, p=1/3, r=1 -> 0.5 (a set F1 would say 2/3)
        ("paris paris london", "paris", 0.0, 0.5),
        # multiplicity on both sides: new, york shared once each; p=2/4, r=2/2 -> 2/3
        ("new york new york", "new york", 0.0, 2 * 0.5 * 1.0 / 1.5),
        ("no", "no way", 0.0, 0.0),  # prediction is "no" and differs: 0, not 2/3
        ("yes indeed", "yes", 0.0, 0.0),  # gold is "yes" and differs
        ("Yes.", "yes", 1.0, 1.0),
        ("noanswer", "no answer", 0.0, 0.0),
        ("", "Amsel River", 0.0, 0.0),
        ("the", "a", 1.0, 0.0),  # both normalise to "": EM says equal, F1 has no tokens
        ("River’s", "River's", 0.0, 0.0),
        ("1877.", "1877", 1.0, 1.0),
    ],
)
def test_em_and_f1_parity(prediction, gold, em, f1):
    assert exact_match(prediction, gold) == em
    assert f1_score(prediction, gold) == pytest.approx(f1)


def test_aliases_take_the_best_match_per_metric():
    scores = qa_scores("Oster", ["Lake Oster", "Oster Lake", "Oster"])
    assert scores == {"em": 1.0, "f1": 1.0}
    scores = qa_scores("Lake", ["Lake Oster", "Tarn"])
    assert scores["em"] == 0.0
    assert scores["f1"] == pytest.approx(2 / 3)


def test_no_prediction_scores_zero():
    assert qa_scores(None, "x") == {"em": 0.0, "f1": 0.0}


def _result(answer, raw=None, error=None):
    details = {"raw": raw} if raw is not None else {}
    return Result(
        question="q", strategy="cot", model="m", answer=answer, details=details, error=error
    )


def test_qa_scorer_uses_the_strategy_answer():
    record = EvalRecord(id="1", dataset="hotpotqa", question="q", gold="the Amsel River")
    score = QAScorer().score_result(record, _result("Amsel River", raw="... Answer: Amsel River"))
    assert score.prediction == "Amsel River"
    assert score.scores == {"em": 1.0, "f1": 1.0}


# -- multiple choice -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "letter"),
    [
        ("Reasoning...\nAnswer: B", "B"),
        ("ANSWER: (C)", "C"),
        ("**Answer:** **D**", "D"),
        ("Final answer: A) the first option", "A"),
        ("The answer is option C.", "C"),
        ("Answer: A\nWait, no.\nAnswer: D", "D"),  # the last statement wins
        ("(B)", "B"),
        ("**B**", "B"),
        ("Let me think.\nB.", "B"),
        ("ANSWER:B", "B"),
        # never a guess:
        ("the answer is a compound of carbon", None),
        ("Answer: Both are wrong", None),
        ("I think it is A, but maybe C", None),
        ("Answer: E", None),
        ("", None),
        (None, None),
    ],
)
def test_extract_choice(text, letter):
    assert extract_choice(text) == letter


def test_mc_scorer_counts_unparsed_separately():
    record = EvalRecord(
        id="g1", dataset="gpqa", question="q", gold="B", choices=["w", "x", "y", "z"]
    )
    scorer = MultipleChoiceScorer(mode="lenient")
    right = scorer.score_result(record, _result("B", raw="so...\nAnswer: (B)"))
    wrong = scorer.score_result(record, _result("C", raw="Answer: C"))
    unparsed = scorer.score_result(record, _result("not sure", raw="I cannot tell."))
    ok, miss = "accuracy_lenient", "unparsed_lenient"
    assert (right.prediction, right.scores) == ("B", {ok: 1.0, miss: 0.0})
    assert (wrong.prediction, wrong.scores) == ("C", {ok: 0.0, miss: 0.0})
    assert (unparsed.prediction, unparsed.scores) == (None, {ok: 0.0, miss: 1.0})


def test_mc_scorer_default_is_simple_evals_first_match():
    record = EvalRecord(
        id="g1", dataset="gpqa", question="q", gold="B", choices=["w", "x", "y", "z"]
    )
    scorer = MultipleChoiceScorer()
    assert scorer.metrics == ("accuracy", "unparsed")
    first = scorer.score_result(record, _result("C", raw="Answer: B\nWait, no.\nAnswer: C"))
    assert (first.prediction, first.scores) == ("B", {"accuracy": 1.0, "unparsed": 0.0})
    dollar = scorer.score_result(record, _result("B", raw="Answer: $B$"))
    assert dollar.scores["accuracy"] == 1.0
    for raw in ("The answer is (B)", "**Answer:** B", "B"):
        missed = scorer.score_result(record, _result("B", raw=raw))
        assert (missed.prediction, missed.scores["unparsed"]) == (None, 1.0), raw
    lower = scorer.score_result(record, _result("b", raw="answer: b"))
    assert (lower.prediction, lower.scores["accuracy"]) == ("b", 0.0)  # as simple-evals


def test_mc_scorer_votes_self_consistency_samples_under_its_mode():
    record = EvalRecord(
        id="g1", dataset="gpqa", question="q", gold="C", choices=["w", "x", "y", "z"]
    )
    result = Result(
        question="q",
        strategy="sc",
        model="scripted",
        answer="C",
        details={"samples": ["Answer: C", "The answer is (A)", "Answer: $C$", "Answer: A"]},
    )
    strict = MultipleChoiceScorer().score_result(record, result)
    assert strict.details["votes"] == ["C", None, "C", "A"]
    assert strict.prediction == "C"
    lenient = MultipleChoiceScorer(mode="lenient").score_result(record, result)
    assert lenient.details["votes_lenient"] == ["C", "A", None, "A"]
    assert lenient.prediction == "A"


def test_mc_scorer_reads_a_voted_answer_without_raw_text():
    record = EvalRecord(
        id="g1", dataset="gpqa", question="q", gold="D", choices=["w", "x", "y", "z"]
    )
    score = MultipleChoiceScorer(mode="lenient").score_result(record, _result("**D**"))
    assert score.scores["accuracy_lenient"] == 1.0


def test_mc_scorer_respects_the_number_of_choices():
    record = EvalRecord(id="g1", dataset="x", question="q", gold="A", choices=["yes", "no"])
    assert (
        MultipleChoiceScorer().score_result(record, _result("C", raw="Answer: C")).prediction
        is None
    )


# -- FanOutQA --------------------------------------------------------------------------------
def test_fanoutqa_dict_answer_counts_keys_and_values():
    gold = {"Corvin City": "1312", "Pellham": "1401", "Tarnholm": "1520"}
    acc = answer_in_text(gold, "Corvin City: 1312; Pellham: 1401; Tarnholm: unknown")
    assert acc.score == pytest.approx(5 / 6)
    assert acc.found is False
    assert acc.missing == ("1520",)


def test_fanoutqa_list_bool_and_numbers():
    assert answer_in_text(
        ["Corvin United", "Pellham Rovers"], "Corvin United and Pellham Rovers."
    ).found
    assert answer_in_text(["Corvin United", "Tarn FC"], "Corvin United only").score == 0.5
    assert answer_in_text(True, "Yes, it is deeper.").found
    assert answer_in_text(False, "Yes").score == 0.0
    assert answer_in_text(31000, "about 31,000 seats").found  # thousands separators dropped
    assert not answer_in_text("1312", "in 13120").found  # whole words only
    assert not answer_in_text("Pell", "Pellham").found


def test_fanoutqa_normalize_strips_only_its_punctuation_set():
    assert fanoutqa_normalize("Hello, World!  1,000.5") == "hello world 10005"


def test_fanoutqa_scorer_reads_the_whole_reply_as_the_official_evaluator_does():
    record = EvalRecord(
        id="f", dataset="fanoutqa", question="q", gold=["Corvin United", "Pellham Rovers"]
    )
    raw = "Thinking about Tarn FC...\nAnswer:\n- Corvin United\n- Pellham Rovers"
    score = FanOutQAScorer().score_result(record, _result("- Corvin United", raw=raw))
    assert score.scores == {"loose_acc": 1.0, "strict_acc": 1.0}
    half = FanOutQAScorer().score_result(
        record, _result("Corvin United", raw="Answer: Corvin United")
    )
    assert half.scores == {"loose_acc": 0.5, "strict_acc": 0.0}
    # the official evaluator scores the whole generation, not only what follows "Answer:"
    whole = FanOutQAScorer().score_result(
        record, _result("Pellham Rovers", raw="Corvin United first.\nAnswer: Pellham Rovers")
    )
    assert whole.scores == {"loose_acc": 1.0, "strict_acc": 1.0}
    none = FanOutQAScorer().score_result(record, _result(None))
    assert none.scores == {"loose_acc": 0.0, "strict_acc": 0.0}


def test_unknown_scorer_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown scorer"):
        get_scorer("no-such-scorer")


# -- statistics ------------------------------------------------------------------------------
def test_bootstrap_mean_interval():
    constant = bootstrap_mean([1.0] * 20)
    assert (constant.value, constant.low, constant.high) == (1.0, 1.0, 1.0)
    half = bootstrap_mean([0.0, 1.0] * 50)
    assert half.value == 0.5
    assert 0.35 < half.low < 0.5 < half.high < 0.65
    assert bootstrap_mean([0.0, 1.0] * 50) == half  # seeded: reproducible
    assert bootstrap_mean([]).value is None


def test_sign_test_exact_binomial():
    # 8 wins, 2 losses: 2 * (C(10,0) + C(10,1) + C(10,2)) / 2**10 = 112 / 1024
    assert sign_test(8, 2) == pytest.approx(112 / 1024)
    assert sign_test(5, 5) == 1.0
    assert sign_test(0, 0) is None


def test_paired_comparison():
    result = paired_comparison([1, 1, 1, 0], [0, 0, 1, 0], names=("cot", "direct"), metric="em")
    assert result.difference.value == 0.5
    assert (result.wins, result.losses, result.ties) == (2, 0, 2)
    assert result.sign_test_p == pytest.approx(0.5)
    assert result.difference.low is not None and result.difference.low >= 0.0
    with pytest.raises(ValueError):
        paired_comparison([1], [1, 0])
