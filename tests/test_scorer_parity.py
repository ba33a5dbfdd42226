"""Parity with the official scorers on a few hundred generated predictions.

Each reference below is written from the official script's published rules (not copied
from it), by a different route than agot's code (hand-written scanners instead of regular
expressions where agot uses one), and compared with agot's scorer item by item.

* simple-evals (openai/simple-evals ``common.py``/``gpqa_eval.py``): the first place in the
  reply where "answer" (any case) is followed by spaces/tabs, a colon, spaces/tabs, an
  optional ``$`` and a letter A-D (any case); that letter as written is the extraction; the
  item scores 1 when it equals the gold letter.
* MuSiQue (``evaluate_v1.0.py``, ``metrics/answer.py``): SQuAD normalisation (lowercase,
  delete ASCII punctuation, drop whole-word a/an/the, single spaces); EM on normalised
  strings; F1 over tokens with multiplicity, 1 when both sides are empty and 0 when only one
  is; best over answer and aliases; only answerable items count; per question pair, the
  answerable twin's score counts only when both answerability calls are right.
* FanOutQA (``fanoutqa/eval/string.py``, ``norm.py``): lists count items, dicts keys and
  values, booleans are yes/no; a string is found when its normalised form occurs between
  word boundaries in the normalised reply.
"""

from __future__ import annotations

import random
import string
from collections import Counter

import pytest

from agot.evals.records import EvalRecord
from agot.evals.scorers import MultipleChoiceScorer, answer_in_text
from agot.evals.scorers.fanoutqa import fanoutqa_normalize
from agot.evals.scorers.metrics import CorpusMetric
from agot.evals.scorers.musique import MuSiQueScorer, answer_scores
from agot.result import Result

# -- simple-evals -----------------------------------------------------------------------------


def simple_evals_reference(reply: str) -> str | None:
    lower = reply.lower()
    start = lower.find("answer")
    while start != -1:
        i = start + len("answer")
        while i < len(reply) and reply[i] in " \t":
            i += 1
        if i < len(reply) and reply[i] == ":":
            i += 1
            while i < len(reply) and reply[i] in " \t":
                i += 1
            if i < len(reply) and reply[i] == "$":
                i += 1
            if i < len(reply) and reply[i] in "ABCDabcd":
                return reply[i]
        start = lower.find("answer", start + 1)
    return None


def generated_replies(n: int, seed: int = 13) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    keywords = ["Answer", "answer", "ANSWER", "Final Answer", "The answer", "answers", "Answered"]
    gaps = ["", " ", "  ", "\t", " \t ", "\n"]
    letters = [*"ABCDabcdEe", "(B)", "**C**", "$D$", "$a", "Because", "Dog", "12"]
    fillers = [
        "Let me think step by step.",
        "The first option fails the boundary condition.",
        "I will answer carefully",
        "answer-wise, nothing",
        "",
        "**",
        "Wait, let me reconsider.",
    ]
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(1, 3)):
            parts.append(rng.choice(fillers))
            statement = (
                rng.choice(keywords)
                + rng.choice(gaps)
                + rng.choice([":", ":", " :", "：", " is", ""])
                + rng.choice(gaps)
                + rng.choice(letters)
                + rng.choice(["", ".", "$", " because it is stable", "\n"])
            )
            parts.append(statement)
        out.append(("\n".join(parts), rng.choice("ABCD")))
    return out


def test_gpqa_default_scorer_matches_simple_evals_on_generated_replies():
    scorer = MultipleChoiceScorer()
    replies = generated_replies(400)
    found = 0
    for reply, gold in replies:
        record = EvalRecord(id="x", dataset="gpqa", question="q", gold=gold, choices=list("wxyz"))
        result = Result(question="q", strategy="cot", model="m", details={"raw": reply})
        scored = scorer.score_result(record, result)
        expected = simple_evals_reference(reply)
        assert scored.prediction == expected, reply
        assert scored.scores["accuracy"] == float(expected == gold), reply
        assert scored.scores["unparsed"] == float(expected is None), reply
        found += expected is not None
    assert 100 < found < 390  # the generator covers both outcomes


def test_the_forty_reply_set_default_agrees_with_simple_evals_everywhere():
    import json
    from pathlib import Path

    items = json.loads(
        (Path(__file__).parent / "fixtures" / "mc_replies" / "replies.json").read_text()
    )
    scorer = MultipleChoiceScorer()
    lenient = MultipleChoiceScorer(mode="lenient")
    differ = 0
    for item in items:
        assert scorer.extract(item["reply"], "ABCD") == simple_evals_reference(item["reply"])
        differ += lenient.extract(item["reply"], "ABCD") != simple_evals_reference(item["reply"])
    assert differ > 10  # the lenient reader is really a different rule, reported beside it


# -- MuSiQue ----------------------------------------------------------------------------------


PUNCTUATION = frozenset(string.punctuation)


def squad_normalize(text: str) -> str:
    text = "".join(ch for ch in text.lower() if ch not in PUNCTUATION)
    return " ".join(w for w in text.split() if w not in ("a", "an", "the"))


def musique_reference(prediction: str, golds: list[str]) -> tuple[float, float]:
    def f1(pred: str, gold: str) -> float:
        p, g = squad_normalize(pred).split(), squad_normalize(gold).split()
        if not p or not g:
            return float(p == g)
        common = sum((Counter(p) & Counter(g)).values())
        if not common:
            return 0.0
        precision, recall = common / len(p), common / len(g)
        return 2 * precision * recall / (precision + recall)

    em = max(float(squad_normalize(prediction) == squad_normalize(g)) for g in golds)
    return em, max(f1(prediction, g) for g in golds)


GOLDS = [
    ["Lake Oster", "Oster Lake", "Oster"],
    ["no"],
    ["the Tarn Mountains"],
    ["1877"],
    ["Ada Quill"],
    [""],
    ["U.S.A.", "United States"],
]


def perturb(gold: str, rng: random.Random) -> str:
    words = gold.split()
    moves = [
        lambda w: w,
        lambda w: [x.upper() for x in w],
        lambda w: ["the", *w],
        lambda w: [*w, "river"],
        lambda w: w[1:],
        lambda w: w + w,
        lambda w: ["no", "answer"],
        lambda w: ["unanswerable"],
        lambda w: [],
        lambda w: [f"{x}." for x in w],
        lambda w: ["An", *w, "!"],
    ]
    return " ".join(rng.choice(moves)(words))


def test_musique_answer_metrics_match_the_official_rules():
    rng = random.Random(5)
    checked = 0
    for _ in range(300):
        golds = rng.choice(GOLDS)
        prediction = perturb(rng.choice(golds), rng)
        ours = answer_scores(prediction, golds)
        em, f1 = musique_reference(prediction, golds)
        assert ours["em"] == em, (prediction, golds)
        assert ours["f1"] == pytest.approx(f1), (prediction, golds)
        checked += 1
    assert checked == 300
    assert answer_scores("no answer", ["no"])["f1"] == pytest.approx(2 / 3)
    assert answer_scores("", [""]) == {"em": 1.0, "f1": 1.0}


def _full_reply(answer: str, flag: str | None, rng: random.Random) -> str:
    """A reply in the full subset's two-field format (the flag line may be missing)."""
    label = rng.choice(["Answerable:", "**Answerable:**", "answerable :", "Answerable："])
    lines = [] if flag is None else [f"{label} {flag}"]
    lines.append(rng.choice(["Answer: ", "**Answer:** ", "answer: "]) + answer)
    if rng.random() < 0.3:
        lines.insert(0, "Reading the paragraphs, the second one names the river.")
    return "\n".join(lines)


def test_musique_full_group_metrics_match_the_official_pairing():
    # The official metric takes a predicted answerable flag (predicted_answerable) beside the
    # predicted answer; a reply without the flag is taken as answerable (it answered).
    rng = random.Random(9)
    scorer = MuSiQueScorer(full=True)
    rows, pairs = [], []
    for index in range(80):
        golds = rng.choice(GOLDS[:5])
        group = f"q{index}"
        said = {}
        for answerable in (True, False):
            flag = rng.choice(["yes", "no", "Yes.", "NO", None])
            answer = rng.choice(["unanswerable", perturb(golds[0], rng)])
            predicted = flag is None or flag.strip(".").lower() == "yes"
            said[answerable] = (answer, predicted)
            record = EvalRecord(
                id=group if answerable else f"{group}:unanswerable",
                dataset="musique",
                question="q",
                gold=golds,
                metadata={"answerable": answerable, "group": group},
            )
            reply = _full_reply(answer, flag, rng)
            result = Result(question="q", strategy="cot", model="m", answer=reply)
            scored = scorer.score_result(record, result)
            rows.append({"scores": scored.scores, "details": scored.details})
            assert scored.prediction == answer
            assert ("f1" in scored.scores) is answerable  # only answerable items enter EM/F1
            assert scored.scores["answerable_acc"] == float(predicted == answerable)
            assert scored.scores["answerable_unparsed"] == float(flag is None)
            lenient = answer.lower() != "unanswerable"
            assert scored.scores["answerable_acc_lenient"] == float(lenient == answerable)
        em, f1 = musique_reference(said[True][0], golds)
        both_right = said[True][1] is True and said[False][1] is False
        pairs.append((em if both_right else 0.0, f1 if both_right else 0.0))
    group_f1, group_em = scorer.metric("group_f1"), scorer.metric("group_em")
    assert isinstance(group_f1, CorpusMetric) and len(group_f1.units(rows)) == 80
    assert group_f1.value(rows) == pytest.approx(sum(f for _, f in pairs) / 80)
    assert group_em.value(rows) == pytest.approx(sum(e for e, _ in pairs) / 80)
    assert 0 < sum(f for _, f in pairs) < 80  # both outcomes occur
    assert len(group_f1.units(rows[:-1])) == 79  # a lone twin is left out


def test_musique_full_asks_for_the_flag_as_its_own_field():
    from agot.evals.datasets import get_dataset
    from agot.evals.scorers.musique import ANSWER_FORMAT_FULL, read_fields

    assert get_dataset("musique").answer_format_for("full") == ANSWER_FORMAT_FULL
    assert "Answerable: yes" in ANSWER_FORMAT_FULL and "Answer: " in ANSWER_FORMAT_FULL
    fields = read_fields("Answerable: no\nAnswer: unanswerable")
    assert fields.answerable is False and fields.answer == "unanswerable"
    # The phrases the lenient reading took as answerable are read from the flag now.
    for phrase in ["I don't know", "N/A", "Unanswerable。"]:
        assert read_fields(f"Answerable: no\nAnswer: {phrase}").answerable is False
    assert read_fields("Paris").answerable is None and read_fields("Paris").answer == "Paris"


# -- free-form QA on whole replies ------------------------------------------------------------


def hotpot_reference(prediction: str, gold: str) -> tuple[float, float]:
    """hotpot_evaluate_v1.py's EM and F1, from its published rules."""
    p, g = squad_normalize(prediction), squad_normalize(gold)
    if (p in ("yes", "no", "noanswer") or g in ("yes", "no", "noanswer")) and p != g:
        return float(p == g), 0.0
    common = sum((Counter(p.split()) & Counter(g.split())).values())
    if not common:
        return float(p == g), 0.0
    precision, recall = common / len(p.split()), common / len(g.split())
    return float(p == g), 2 * precision * recall / (precision + recall)


def long_predictions(gold: str, rng: random.Random) -> list[str]:
    """Replies of 10k-100k characters around ``gold``, plus the issue's two cases."""
    prose = "The river rises in the hills and the town grew around its mills. "
    out = ["." * 5000 + gold, gold + " " + (prose * 100)[:6000]]
    for size in (10_000, 40_000, 100_000):
        body = (prose * (size // len(prose) + 1))[:size]
        out += [body + gold, gold + body, f"**Answer:** {gold}\n" * (size // 40)]
        out.append(body.replace("the", "the " + gold, rng.randint(0, 3)))
    out += [f"$\\text{{{gold}}}$", gold.upper() + "\u00a0", f"Answer: {gold}\nAnswer: {gold}"]
    out += ["no answer", "No", "", "noanswer", "yes"]
    return out


def squad_reference(prediction: str, gold: str) -> tuple[float, float]:
    """HybridQA's evaluate_script.py (SQuAD's rule), from its published rules."""
    return musique_reference(prediction, [gold])


def test_free_form_qa_scores_the_whole_reply_as_the_official_scripts_do():
    from agot.evals.scorers import qa_scores, squad_scores

    rng = random.Random(26)
    checked = 0
    for gold in ["Eiffel Tower", "No", "the Tarn Mountains", "1877", "U.S.A."]:
        for prediction in long_predictions(gold, rng):
            hotpot, squad = qa_scores(prediction, gold), squad_scores(prediction, gold)
            em, f1 = hotpot_reference(prediction, gold)
            assert (hotpot["em"], hotpot["f1"]) == (em, pytest.approx(f1)), prediction[:80]
            em, f1 = squad_reference(prediction, gold)
            assert (squad["em"], squad["f1"]) == (em, pytest.approx(f1)), prediction[:80]
            checked += 1
    assert checked > 80
    assert qa_scores("." * 5000 + "Eiffel Tower", "Eiffel Tower") == {"em": 1.0, "f1": 1.0}
    # HybridQA's script has no yes/no/noanswer rule; HotpotQA's does.
    assert squad_scores("no answer", "No")["f1"] == pytest.approx(2 / 3)
    assert qa_scores("no answer", "No")["f1"] == 0.0
    assert squad_scores("", "") == {"em": 1.0, "f1": 1.0}


def test_hybridqa_is_scored_by_its_own_script_and_judged_as_free_form():
    from agot.evals.datasets import get_dataset
    from agot.evals.scorers import get_scorer

    spec = get_dataset("hybridqa")
    assert spec.scorers == ("squad",)
    assert "HybridQA" in get_scorer("squad").describe()["matches"]


# -- FanOutQA ---------------------------------------------------------------------------------


def fanout_reference(reference, candidate: str, norm) -> tuple[bool, float]:
    """(found, score) from the published rules, with ``norm`` the normaliser in force."""
    import re

    def missing(ref) -> int:
        if isinstance(ref, list):
            return sum(missing(r) for r in ref)
        if isinstance(ref, dict):
            return sum(missing(r) for r in [*ref.keys(), *ref.values()])
        if isinstance(ref, bool):
            ref = "yes" if ref else "no"
        return 0 if re.search(r"\b" + re.escape(norm(ref)) + r"\b", norm(candidate)) else 1

    if isinstance(reference, list | dict):
        total = len(reference) * (2 if isinstance(reference, dict) else 1)
        found = total - missing(reference)
        return found == total, found / total
    hit = missing(reference) == 0
    return hit, float(hit)


def test_fanoutqa_accuracy_matches_the_official_rules():
    rng = random.Random(21)
    names = ["Corvin United", "Pellham Rovers", "Tarn FC", "Amsel", "1,312", "31000", "cities"]
    checked = 0
    for _ in range(300):
        kind = rng.choice(["str", "list", "dict", "bool", "int"])
        if kind == "str":
            reference = rng.choice(names)
        elif kind == "list":
            reference = rng.sample(names, rng.randint(1, 3))
        elif kind == "dict":
            reference = {rng.choice(names): rng.choice(names) for _ in range(2)}
        elif kind == "bool":
            reference = rng.random() < 0.5
        else:
            reference = rng.choice([1312, 31000, 7])
        said = rng.sample([*names, "yes", "no", "city", "1312", "7 teams"], rng.randint(0, 4))
        candidate = rng.choice(["Answer: ", "", "I think "]) + ", ".join(said) + "."
        acc = answer_in_text(reference, candidate)
        found, score = fanout_reference(reference, candidate, fanoutqa_normalize)
        assert (acc.found, acc.score) == (found, pytest.approx(score)), (reference, candidate)
        checked += 1
    assert checked == 300


def test_fanoutqa_reads_the_whole_reply_and_matches_the_rules_on_long_replies():
    # The fallback searches the unfolded reply with each gold word's plural forms; the
    # reference folds the whole reply and searches the folded gold, as the rule says.
    rng = random.Random(33)
    golds = ["cities", "city", "Boxes", "the Tarn Valley", "1,312", "bus", "glasses", "ashes"]
    golds += ["Corvin's teams", "U.S.", "(FC)", "y", "news", "aliases", "ies", "3.5 km"]
    words = ["city", "cities", "box", "boxes", "glass", "glasses", "teams", "team", "bus", "buses"]
    words += ["tarn", "valley", "valleys", "1,312", "1312", "u.s.", "(fc)", "ash", "ashes", "y"]
    words += ["corvin's", "alias", "aliases", "ies", "3.5", "km", "cities2", "_boxes", "citiesy"]
    checked = hits = 0
    for size in (0, 10_000, 40_000, 100_000):
        filler = ("Some prose, with; marks! And 2,000.5 numbers. " * (size // 40 + 1))[:size]
        for _ in range(25):
            said = " ".join(rng.choice(words) for _ in range(rng.randint(1, 6)))
            where = rng.choice(["start", "end", "middle"])
            if where == "start":
                candidate = said + " " + filler
            elif where == "end":
                candidate = filler + "\n" + said
            else:
                half = len(filler) // 2
                candidate = filler[:half] + " " + said + " " + filler[half:]
            reference = rng.sample(golds, rng.randint(1, 3))
            acc = answer_in_text(reference, candidate)
            found, score = fanout_reference(reference, candidate, fanoutqa_normalize)
            assert (acc.found, acc.score) == (found, pytest.approx(score)), (reference, said)
            checked += 1
            hits += acc.score > 0
    assert checked == 100 and 20 < hits < 90  # found and missing both occur
    tail = "x " * 50_000 + "Corvin United"
    assert answer_in_text("Corvin United", tail).found  # past the old 8,000-character cut


def test_fanoutqa_normaliser_steps():
    # lower, thousands separators dropped, ",.?!:;" deleted, white space collapsed
    assert fanoutqa_normalize("Hello, World!  1,000.5") == "hello world 10005"
    # the fallback folds regular plurals on both sides, so plural and singular match
    cities = answer_in_text(["Corvin City", "Pellham"], "The cities of Corvin and Pellham")
    assert cities.score == 0.5
    assert answer_in_text("teams", "one team").found
    assert answer_in_text("boxes", "a box").found


async def test_fanoutqa_scores_off_the_event_loop(monkeypatch):
    import threading

    from agot.evals.scorers import FanOutQAScorer, ScoreContext
    from agot.evals.scorers import fanoutqa as module

    seen = []
    real = module.answer_in_text

    def spy(reference, candidate):
        seen.append(threading.current_thread() is threading.main_thread())
        return real(reference, candidate)

    monkeypatch.setattr(module, "answer_in_text", spy)
    record = EvalRecord(id="x", dataset="fanoutqa", question="q", gold=["Tarn FC", "Amsel"])
    result = Result(question="q", strategy="cot", model="m", answer="Tarn FC and Amsel")
    scored = await FanOutQAScorer().score(record, result, ScoreContext(model="m"))
    assert scored.scores == {"loose_acc": 1.0, "strict_acc": 1.0}
    assert seen == [False]  # normalised (and lemmatised, with spaCy) in a worker thread
