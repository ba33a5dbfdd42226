"""5x5 mini crosswords (Tree of Thoughts): loader, grid parser and ToT's three scores.

ToT's ``mini0505.json`` is a JSON list of games; each game is a two-element list
``[clues, letters]``: ten clue strings (h1-h5, the across words top to bottom, then v1-v5,
the down words left to right) and the 25 solution letters, one string each, row by row
(upper case). ToT tests on games 0, 5, ..., 95 (its ``mini0505_0_100_5.json``): that is the
default ``test`` split for a full file; a file with at most 20 games is taken whole.

Scoring: ``letter_acc``, ``word_acc`` and ``solved`` are ToT's own ``test_output`` rule (the
reply's last five lines, read as rows; :mod:`agot.evals.tasks.crosswords_tot` names the commit
and spells out the rule, including the replies on which ToT's code raises, scored 0 here).
``*_lenient`` are agot's friendlier reading, reported beside them: the grid after the last
``Answer:``, labels such as ``h1.`` or ``Row 1:`` and ``|`` separators ignored, or one line of 25
letters; a grid it cannot read scores 0, with the reason.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from agot.errors import ConfigError, DatasetError
from agot.evals.records import EvalRecord
from agot.evals.tasks import ExactTask, TaskScore, resolve_data_file
from agot.evals.tasks.crosswords_tot import tot_crossword
from agot.strategies.tot_crosswords import words_of

SIZE = 5
CELLS = SIZE * SIZE

#: ToT's test games: every fifth of the first hundred (indices 0, 5, ..., 95).
TEST_INDICES = tuple(range(0, 100, 5))

ANSWER_FORMAT = (
    "Fill the 5x5 grid so that every across word (h1-h5, rows top to bottom) and every down "
    "word (v1-v5, columns left to right) fits its clue. After a line 'Answer:', write the grid "
    "as 5 lines of 5 letters each, row 1 first, letters only, and nothing after the grid."
)

# Possessive runs keep "answer" + a long run of spaces linear (no re-splitting of the run).
_ANSWER = re.compile(r"(?i)\banswer[\s*_]*+(?:is)?[\s*]*+[:：]")
#: The reply tail read: the grid ends the reply, and the cap bounds a rambling reply's cost.
MAX_READ_CHARS = 8_000
_LABEL = re.compile(r"(?i)^(?:[hv]\d+|row\s*\d+|\d+)(?:\s*[.:)\]-]\s*|\s+)")
_SEPARATORS = re.compile(r"[\s|,*`_\-]+")


def render_clues(clues: list[str]) -> str:
    across = [f"h{i + 1}. {clue}" for i, clue in enumerate(clues[:SIZE])]
    down = [f"v{i + 1}. {clue}" for i, clue in enumerate(clues[SIZE:])]
    return "\n".join(across + down)


def question_for(clues: list[str]) -> str:
    return "Solve this 5x5 mini crossword.\n" + render_clues(clues)


def _check_game(path: Path, index: int, game: object) -> tuple[list[str], str]:
    where = f"{str(path)!r} game {index}"
    if not isinstance(game, list) or len(game) != 2:
        raise DatasetError(f"{where}: expected [clues, letters], got {type(game).__name__}")
    clues, letters = game
    if (
        not isinstance(clues, list)
        or len(clues) != 2 * SIZE
        or not all(isinstance(c, str) for c in clues)
    ):
        raise DatasetError(f"{where}: expected 10 clue strings (h1-h5, v1-v5)")
    if (
        not isinstance(letters, list)
        or len(letters) != CELLS
        or not all(isinstance(c, str) and len(c) == 1 and c.isalpha() for c in letters)
    ):
        raise DatasetError(f"{where}: expected 25 single-letter strings, row by row")
    return clues, "".join(letters).upper()


def read_games(path: Path) -> list[EvalRecord]:
    """Every game in a file of ToT's ``mini0505.json`` layout, ids ``mini-<index>``."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatasetError(f"cannot read crosswords file {str(path)!r}: {exc}") from None
    if not isinstance(data, list) or not data:
        raise DatasetError(
            f"{str(path)!r} is not a mini crosswords file: expected a non-empty JSON list of "
            "[clues, letters] games (Tree of Thoughts' mini0505.json layout)"
        )
    records = []
    for index, game in enumerate(data):
        clues, grid = _check_game(path, index, game)
        records.append(
            EvalRecord(
                id=f"mini-{index}",
                dataset="crosswords",
                question=question_for(clues),
                gold=grid,
                metadata={
                    "index": index,
                    "clues": clues,
                    "words": words_of(grid),
                },
            )
        )
    return records


def load_crosswords(
    path: str | Path | None = None, *, split: str | None = None
) -> list[EvalRecord]:
    """Games of ``split`` (``test``: ToT's 20, ``all``) from ``path`` (file or its folder)."""
    if not path:
        raise DatasetError(
            "the mini crosswords need a data file: get mini0505.json from the Tree of Thoughts "
            "repository (princeton-nlp/tree-of-thought-llm, src/tot/data/crosswords/) and pass "
            "--data PATH"
        )
    value = (split or "test").strip().lower()
    if value not in ("test", "all"):
        raise ConfigError(f"crosswords split {split!r} not understood: use 'test' or 'all'")
    records = read_games(resolve_data_file(path, "mini0505.json", "mini crosswords"))
    if value == "all" or len(records) <= len(TEST_INDICES):
        return records
    return [r for r in records if r.metadata["index"] in TEST_INDICES]


def _answer_part(text: str) -> str:
    text = text[-MAX_READ_CHARS:]
    matches = list(_ANSWER.finditer(text))
    return text[matches[-1].end() :] if matches else text


def parse_grid(text: str) -> tuple[str | None, str]:
    """The 25 letters of the grid in a reply, upper case, or ``(None, reason)``.

    Reads the part after the last ``Answer:`` (the whole text without one) within the reply's
    last :data:`MAX_READ_CHARS` characters. A grid is the
    last five lines that each hold exactly five letters (spaces, ``|`` and labels such as
    ``h1.`` or ``Row 1:`` ignored), or one line of exactly 25 letters.
    """
    if not text or not text.strip():
        return None, "empty answer: no grid given"
    rows: list[str] = []
    flat: list[str] = []
    for line in _answer_part(text).splitlines():
        if not line or line.isspace():
            continue
        cleaned = _SEPARATORS.sub("", _LABEL.sub("", line.strip()))
        if not cleaned:
            continue
        if cleaned.isalpha() and cleaned.isascii():
            if len(cleaned) == SIZE:
                rows.append(cleaned.upper())
            elif len(cleaned) == CELLS:
                flat.append(cleaned.upper())
    if len(rows) >= SIZE:
        return "".join(rows[-SIZE:]), f"read {len(rows)} rows of 5 letters, used the last 5"
    if flat:
        return flat[-1], "read one line of 25 letters"
    return None, (
        f"malformed grid: found {len(rows)} line(s) of exactly 5 letters, need 5 "
        "(or one line of 25 letters)"
    )


def score_grid(grid: str, gold: str) -> dict[str, float]:
    """ToT's three crossword scores for a 25-letter ``grid`` against ``gold``."""
    gold = gold.upper()
    letters = sum(a == b for a, b in zip(grid, gold, strict=True)) / CELLS
    words = sum(a == b for a, b in zip(words_of(grid), words_of(gold), strict=True)) / (2 * SIZE)
    return {"letter_acc": letters, "word_acc": words, "solved": 1.0 if grid == gold else 0.0}


def score_crossword(text: str, record: EvalRecord) -> TaskScore:
    """ToT's three scores for ``text`` and agot's lenient three beside them."""
    gold = str(record.gold).upper()
    official = tot_crossword(text, gold)
    scores = {
        "letter_acc": official.letter_acc,
        "word_acc": official.word_acc,
        "solved": float(official.solved),
    }
    grid, reason = parse_grid(text)
    lenient = score_grid(grid, gold) if grid is not None else dict.fromkeys(scores, 0.0)
    scores.update({f"{name}_lenient": value for name, value in lenient.items()})
    details: dict[str, object] = {"lenient_reason": reason, "tot_crashed": official.crashed}
    if grid is not None:
        details["lenient_grid"] = "\n".join(grid[i * SIZE : (i + 1) * SIZE] for i in range(SIZE))
    return TaskScore(
        scores=scores,
        prediction="\n".join(official.rows),
        reason=official.reason,
        details=details,
    )


CROSSWORDS = ExactTask(
    name="crosswords",
    description="5x5 mini crosswords (Tree of Thoughts): letter, word and game accuracy",
    answer_format=ANSWER_FORMAT,
    metrics=(
        "letter_acc",
        "word_acc",
        "solved",
        "letter_acc_lenient",
        "word_acc_lenient",
        "solved_lenient",
    ),
    headline="word_acc",
    default_split="test",
    load=load_crosswords,
    score=score_crossword,
)
