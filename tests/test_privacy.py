"""Private item text never leaves the run: every file an eval writes, its output, ``agot show``.

The fixture plants a marker in a question and one in an option text. The model is an
adversary: a scripted backend that echoes its whole prompt (and a slice around the marker,
upper-cased copies, JSON-wrapped copies) into every reply and every structured field, so AGoT
node titles, answers, final answers, prompts and replies all carry the text unless redaction
catches it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import agot.cli
from agot.backends.scripted import ScriptedBackend
from agot.evals.records import EvalRecord
from agot.evals.redaction import RunRedaction, item_secrets
from agot.redact import Redactor, placeholder, redact, safe_item_id
from agot.types import GenerationRequest

FIXTURES = Path(__file__).parent / "fixtures"
MARKERS = ("QMARKERQ7", "ZOPTMARKZ9")


def _slice_around(prompt: str, marker: str, width: int = 40) -> str:
    at = prompt.find(marker)
    return prompt[max(0, at - width) : at + len(marker) + width] if at >= 0 else ""


def echo_adversary(request: GenerationRequest) -> object:
    """Replies that repeat the prompt in every shape a model might."""
    prompt = "\n".join(m.content for m in request.messages)
    piece = _slice_around(prompt, MARKERS[0]) or prompt[:80]
    loud = f"{prompt.upper()}\nQuoted: {json.dumps(piece)}\n{piece}"
    if request.role == "decompose":
        return {
            "strategy": loud,
            "thoughts": [
                {"title": piece, "content": prompt, "parents": []},
                {"title": piece.upper(), "content": loud, "parents": []},
            ],
        }
    if request.role == "assess":
        return {"justification": loud, "is_complex": False}
    if request.role == "solve":
        return {"answer": loud}
    if request.role == "check":
        return {"reason": loud, "can_answer": True}
    if request.role == "final":
        return {"reasoning": loud, "answer": f"{piece}\nAnswer: A"}
    return f"You asked:\n{loud}\nAnswer: A"


@pytest.fixture
def adversary(monkeypatch):
    def from_spec(cls, spec, options=None):
        return cls(echo_adversary)

    monkeypatch.setattr(ScriptedBackend, "from_spec", classmethod(from_spec))


#: Phrases of the fixture's questions and options besides the markers (checked case-blind).
PHRASES = (
    "sealed flask holds",
    "which product dominates",
    "expands freely into a vacuum",
    "head to tail coupling",
    "entropy per particle",
)


def _leaks(text: str) -> list[str]:
    low = text.lower()
    return [m for m in MARKERS if m in text] + [p for p in PHRASES if p in low]


def _scripted_gpqa_eval(data: Path, strategies: str, out: Path, *extra: str) -> int:
    """``agot eval gpqa`` of the folder ``data`` on the scripted model (AGoT held to 2 layers,
    so a run is quick), writing to ``out``; the exit code."""
    argv = ["eval", "gpqa", "--data", str(data), "--strategy", strategies, "--model", "scripted"]
    return agot.cli.main([*argv, "--out", str(out), "--max-layers", "2", *extra])


def test_gpqa_eval_writes_no_question_or_option_text(tmp_path, adversary, monkeypatch, capsys):
    monkeypatch.setattr(agot.cli, "COMMANDS", ("eval", "show"))
    out = tmp_path / "run"
    code = _scripted_gpqa_eval(FIXTURES / "gpqa_marker", "direct,cot,agot", out)
    printed = capsys.readouterr()
    assert code == 0, printed.err
    files = [p for p in out.rglob("*") if p.is_file()]
    names = {p.name for p in files}
    assert {"results.jsonl", "run.json", "summary.json"} <= names
    traces = [p for p in files if "traces" in p.parts]
    assert len(traces) == 6  # 2 items x 3 strategies
    for path in files:
        assert not _leaks(path.read_text(encoding="utf-8")), f"marker in {path}"
        assert not _leaks(str(path)), f"marker in file name {path}"
    assert not _leaks(printed.out + printed.err)
    # The text was there to leak: the redaction left its placeholders behind.
    agot_trace = next(p for p in traces if "agot" in p.parts)
    trace_text = agot_trace.read_text(encoding="utf-8")
    assert "[redacted gpqa:rec_marker_0" in trace_text
    assert json.loads(trace_text)["graph"]  # the graph itself is kept, only text replaced
    for fmt in ("text", "mermaid", "dot"):
        assert agot.cli.main(["show", str(agot_trace), "--format", fmt]) == 0
        shown = capsys.readouterr()
        assert not _leaks(shown.out + shown.err), fmt
        assert "redacted" in shown.out  # labels may wrap or re-bracket the placeholder
    _assert_viewer_pages_hold_no_text(out)
    summary = json.loads((out / "summary.json").read_text())
    assert any("simple-evals" in note for note in summary["notes"])
    assert any("lenient" in note for note in summary["notes"])


def _assert_viewer_pages_hold_no_text(out: Path) -> None:
    """``agot view`` reads the run folder: its run and item pages show only placeholders."""
    testclient = pytest.importorskip("starlette.testclient")
    from agot.view.app import create_app
    from agot.view.data import Catalog

    client = testclient.TestClient(create_app(Catalog([out.parent])), base_url="http://127.0.0.1")
    pages = [client.get("/"), client.get(f"/run/{out.name}")]
    pages += [client.get(f"/run/{out.name}/item/{i}") for i in range(2)]
    assert all(page.status_code == 200 for page in pages)
    for page in pages:
        assert not _leaks(page.text), page.url
    assert any("redacted" in page.text for page in pages[2:])


# An invented item (no GPQA text) with non-ASCII letters, so structured replies store it as
# \uXXXX escapes, and options of 12+ characters that a cut could leave a part of.
ACCENTED_QUESTION = (
    "Invented: quelle énergie libère le noyau lorsqu'il fissionne dans la cuve scellée "
    "chauffée à quatre cents kelvins pendant une heure ?"
)
ACCENTED_OPTIONS = (
    "L'énergie de liaison nucléaire par nucléon",
    "Le rayonnement gamma retardé",
    "Une réaction chimique exothermique",
    "Aucune énergie mesurable",
)
#: Words of the item above that no placeholder, prompt template or filler contains.
ACCENTED_WORDS = (
    *("libère", "noyau", "fissionne", "scellée", "chauffée", "kelvins", "liaison", "nucléon"),
    *("rayonnement", "retardé", "exothermique", "mesurable"),
)


def _decoded(text: str) -> str:
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m[1], 16)), text)


def _accented_leaks(text: str) -> list[str]:
    """Words of the invented item in ``text`` (read decoded), then any run of five words of
    its question and any of its options (12+ characters) in whole words, case and spacing
    ignored: what #25 item 5 greps every written file for."""
    low = _decoded(text).lower()
    words = " " + " ".join(re.findall(r"\w+", low)) + " "
    question = re.findall(r"\w+", ACCENTED_QUESTION.lower())
    windows = [" ".join(question[i : i + 5]) for i in range(len(question) - 4)]
    options = [" ".join(re.findall(r"\w+", o.lower())) for o in ACCENTED_OPTIONS if len(o) >= 12]
    return [w for w in ACCENTED_WORDS if w in low] + [
        t for t in windows + options if f" {t} " in words
    ]


def clipping_adversary(request: GenerationRequest) -> object:
    """Replies that quote the item so that text is cut inside it before redaction sees it:
    thoughts' answers (cut to 1,500 characters where later prompts show them) quote the
    question from its second word so that the cut falls inside it; structured replies are
    stored with \\uXXXX escapes; the direct strategy's call fails with a 400 body that quotes
    the question, cut at 300 characters as the HTTP clients cut server bodies."""
    from agot.backends.openai_wire import scrubbed
    from agot.errors import BackendError

    filler = "A restatement of the task, in the words of the task is: "  # 56 characters
    if request.role == "decompose":
        return {
            "strategy": f"Plan: {ACCENTED_QUESTION}",
            "thoughts": [
                {"title": filler + ACCENTED_QUESTION[10:], "content": "restate", "parents": []},
                {"title": filler + ACCENTED_OPTIONS[0], "content": "compare", "parents": []},
            ],
        }
    if request.role == "assess":
        return {"justification": ACCENTED_QUESTION, "is_complex": False}
    if request.role == "solve":
        # Later prompts show 1,500 characters of an answer: the cut falls four words and a bit
        # into the question ("... quelle énergie libère le noya...").
        padding = "pad " * 353
        return {"answer": f"{padding}{filler}{ACCENTED_QUESTION[10:]} So: {ACCENTED_OPTIONS[1]}"}
    if request.role == "check":
        return {"reason": ACCENTED_QUESTION, "can_answer": True}
    if request.role == "final":
        return {"reasoning": ACCENTED_QUESTION, "answer": f"{ACCENTED_OPTIONS[0]}\nAnswer: A"}
    body = "invalid_request_error: this model cannot take the message: " + "x " * 107
    body += ACCENTED_QUESTION  # the cut at 300 characters falls four words into it
    raise BackendError("HTTP 400: " + scrubbed(body, [], "bad request"))


@pytest.mark.parametrize("store_text", [True, False])
def test_gpqa_eval_redacts_escaped_and_clipped_quotes(tmp_path, monkeypatch, capsys, store_text):
    """#25 item 5 end to end: a question with non-ASCII letters, quoted in escaped JSON, in
    node titles that later prompts cut at 80 characters, and in a 400 body cut at 300, leaves
    no word of the item in any file the eval writes or any page the viewer serves (with and
    without ``--no-store-text``)."""
    import csv

    monkeypatch.setattr(
        ScriptedBackend, "from_spec", classmethod(lambda c, s, options=None: c(clipping_adversary))
    )
    monkeypatch.setattr(agot.cli, "COMMANDS", ("eval",))
    data = tmp_path / "gpqa"
    data.mkdir()
    with open(data / "gpqa_diamond.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "Question",
                "Correct Answer",
                "Incorrect Answer 1",
                "Incorrect Answer 2",
                "Incorrect Answer 3",
                "Explanation",
                "Subdomain",
                "Record ID",
            ]
        )
        writer.writerow([ACCENTED_QUESTION, *ACCENTED_OPTIONS, "Invented.", "Physics", "rec_acc_1"])
    out = tmp_path / "run"
    code = _scripted_gpqa_eval(
        data, "direct,agot", out, *([] if store_text else ["--no-store-text"])
    )
    printed = capsys.readouterr()
    assert code in (0, 1), printed.err  # the direct row fails with its 400: an item error
    files = [p for p in out.rglob("*") if p.is_file()]
    texts = {p: p.read_text(encoding="utf-8") for p in files}
    rows = [json.loads(line) for line in texts[out / "results.jsonl"].splitlines()]
    assert any("HTTP 400" in (row.get("error") or "") for row in rows)
    agot_trace = next(t for p, t in texts.items() if "traces" in p.parts and "agot" in p.parts)
    # The quotes were there to leak: escaped replies and answers cut mid-question, redacted.
    assert ('justification\\": \\"[redacted gpqa:' in agot_trace) == store_text
    assert re.search(r"task is: \[redacted gpqa:[^]]+\]\.\.\.", agot_trace) or not store_text
    for path, text in texts.items():
        assert not _accented_leaks(text), (path, _accented_leaks(text))
    assert not _accented_leaks(printed.out + printed.err)
    testclient = pytest.importorskip("starlette.testclient")
    from agot.view.app import create_app
    from agot.view.data import Catalog

    client = testclient.TestClient(create_app(Catalog([tmp_path])), base_url="http://127.0.0.1")
    pages = [client.get(f"/run/{out.name}"), client.get(f"/run/{out.name}/item/0")]
    assert all(page.status_code == 200 for page in pages)
    for page in pages:
        assert not _accented_leaks(page.text), (page.url, _accented_leaks(page.text))
    export = tmp_path / "export.html"
    monkeypatch.setattr(agot.cli, "COMMANDS", ("view",))
    assert agot.cli.main(["view", str(out), "--export", str(export)]) == 0
    assert "redacted" in export.read_text(encoding="utf-8")
    assert not _accented_leaks(export.read_text(encoding="utf-8"))


def test_an_error_body_is_redacted_before_it_is_cut() -> None:
    """The HTTP clients cut a server's error body to 300 characters. Within an eval item (its
    redactor active), the body is redacted whole first: a cut that would leave only a few
    characters of an option (too few for the clipped-tail rule to recognise) leaves none."""
    from agot.backends.openai_wire import scrubbed
    from agot.redact import redacting

    option = ACCENTED_OPTIONS[1]  # "Le rayonnement gamma retardé"
    body = "x " * 147 + option  # the cut at 300 characters falls after "Le ra"
    assert len(body) > 300 and scrubbed(body, [], "bad")[-6:] == "Le ra…"  # no redactor: cut
    redactor = Redactor([ACCENTED_QUESTION, *ACCENTED_OPTIONS], namespace="gpqa", item_id="r")
    with redacting(redactor):
        cut = scrubbed(body, [], "bad")
    assert "Le ra" not in cut and cut.endswith("x [reda…")  # the placeholder is what is cut
    assert scrubbed(body, [], "bad")[-6:] == "Le ra…"  # the block ended: no redactor again


async def test_redact_switch_covers_user_data(tmp_path):
    from agot.evals.runner import run_eval

    secret = "The confidential merger of Corvin Holdings closes on the ninth of May"
    records = [EvalRecord(id=secret, dataset="hotpotqa", question=secret + "?", gold="May")]
    summary = await run_eval(
        "hotpotqa",
        strategies=["cot"],
        models=[ScriptedBackend(echo_adversary)],
        out=str(tmp_path),
        progress=False,
        redact=True,
        records=records,
    )
    assert summary.items == 1
    on_disk = "".join(p.read_text() for p in tmp_path.rglob("*") if p.is_file())
    paths = "".join(str(p) for p in tmp_path.rglob("*"))
    assert "Corvin Holdings" not in on_disk and "Corvin" not in paths
    assert "[redacted hotpotqa:item-" in on_disk  # the id carried the text: it became a hash


def test_redact_flag_on_the_command_line(tmp_path, adversary, monkeypatch, capsys):
    monkeypatch.setattr(agot.cli, "COMMANDS", ("eval",))
    hotpot = FIXTURES / "hotpotqa" / "hotpot_dev_distractor_v1.json"
    questions = [row["question"] for row in json.loads(hotpot.read_text())]
    out = tmp_path / "run"
    argv = ["eval", "hotpotqa", "--data", str(hotpot), "--strategy", "cot", "--model", "scripted"]
    assert agot.cli.main([*argv, "--out", str(out), "--quiet", "--redact"]) == 0
    printed = capsys.readouterr()
    on_disk = "".join(p.read_text() for p in out.rglob("*") if p.is_file())
    for question in questions:
        assert question not in on_disk and question not in printed.out + printed.err
    assert json.loads((out / "run.json").read_text())["redacted"] is True
    assert "item text redacted" in (out / "summary.json").read_text()


# -- the redactor itself ----------------------------------------------------------------------
QUESTION = "Which enzyme unwinds the double helix ahead of the replication fork in E. coli?"


def test_redactor_replaces_echoes_slices_and_case_changes():
    r = Redactor([QUESTION, "DNA helicase DnaB", "4"], namespace="gpqa", item_id="rec1")
    label = placeholder("gpqa", "rec1", QUESTION)
    assert r.redact_text(f"Q: {QUESTION}\nA: ...") == f"Q: {label}?\nA: ..."
    # a slice that cuts words at both ends still loses every whole window of the question
    cut = QUESTION[7:60]
    assert "unwinds the double helix" not in r.redact_text(f"title: {cut}…")
    assert "UNWINDS THE DOUBLE" not in r.redact_text(QUESTION.upper())
    # re-wrapped text (new lines, extra spaces) is still the same words
    assert "helix" not in r.redact_text(QUESTION.replace(" the ", "\n  the "))
    # short option texts are matched whole, case-insensitively; tiny ones are left alone
    assert r.redact_text("maybe dna  HELICASE dnab?") == (
        f"maybe {placeholder('gpqa', 'rec1', 'DNA helicase DnaB')}?"
    )
    assert r.redact_text("4 eV") == "4 eV"
    # other text is untouched, including fewer than a window's words of the question
    assert r.redact_text("the double helix is famous") == "the double helix is famous"


def test_redactor_reads_json_escaped_text_as_its_words():
    secret = "Consider the reaction below.\nMARKERWORD reagent is heated to 400 K with \\theta = 3"
    r = Redactor([secret], namespace="gpqa", item_id="rec1")
    escaped = json.dumps({"answer": f"Restating: {secret}"})  # a structured reply, as sent
    cleaned = r.redact_text(escaped)
    assert "MARKERWORD" not in cleaned and "heated" not in cleaned
    assert "[redacted gpqa:rec1:" in cleaned and cleaned.startswith('{"answer": "Restating: ')


def test_redact_walks_every_string_and_key_of_any_json_object():
    value = {
        "question": QUESTION,
        "events": [{"prompt": [{"role": "user", "content": "Solve: " + QUESTION}]}],
        QUESTION: 3,
        "numbers": [1, 2.5, None, True],
        "nested": ({"reply": QUESTION.lower()},),
    }
    out = redact(value, [QUESTION], namespace="gpqa", item_id="rec1")
    assert "helix" not in json.dumps(out)
    assert out["numbers"] == [1, 2.5, None, True]
    assert isinstance(out["nested"], tuple)
    assert value["question"] == QUESTION  # the input is not modified


def test_placeholders_are_stable_and_name_item_and_text():
    a = placeholder("gpqa", "rec1", QUESTION)
    assert a == placeholder("gpqa", "rec1", QUESTION)
    assert re.fullmatch(r"\[redacted gpqa:rec1:[0-9a-f]{10}\]", a)
    assert a != placeholder("gpqa", "rec1", QUESTION + " ")


def test_safe_item_id_hashes_only_ids_that_hold_the_text():
    assert safe_item_id("rec_01", [QUESTION]) == "rec_01"
    hashed = safe_item_id(QUESTION, [QUESTION])
    assert hashed.startswith("item-") and "helix" not in hashed
    assert hashed == safe_item_id(QUESTION, [QUESTION])


def test_item_secrets_and_run_redaction_off_by_default():
    record = EvalRecord(
        id="r",
        dataset="x",
        question="q text here",
        gold="A",
        choices=["one option text", "two"],
        context="Title: passage",
        metadata={"private_text": ["a declared private note"]},
    )
    assert item_secrets(record) == [
        "q text here",
        "one option text",
        "two",
        "Title: passage",
        "a declared private note",
    ]
    off = RunRedaction("x", enabled=False)
    assert off.prepare([record]) == [record]
    assert off("r", {"q": "q text here"}) == {"q": "q text here"}


# -- keys in model strings and endpoints (#25 item 2) -------------------------------------------

#: A key in an endpoint's path segment: it works (the server reads it), so it stays in the
#: model string the backend gets, and every place that writes the model string masks it.
KEY = "sk-PLANTEDkey0123456789ZZZ"


def test_a_key_in_an_endpoint_is_written_nowhere(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    model = f"scripted@http://127.0.0.1:9/gw/{KEY}/v1"
    hotpot = str(FIXTURES / "hotpotqa" / "hotpot_dev_distractor_v1.json")
    routed = ["--route", f"assess={model}", "--escalate-to", model]
    outputs = []
    commands = [
        ["eval", "hotpotqa", "--data", hotpot, "--limit", "2", "--model", model,
         "--strategy", "cot,agot", *routed, "--judge", model, "--out", "run"],
        ["solve", "q", "--model", model, *routed, "--trace", "t.json", "--json"],
        ["solve", "q", "--model", model, "--strategy", "cot"],
        ["show", "t.json"],
        ["report", "run"],
        ["view", "run", "--export", "page.html"],
    ]  # fmt: skip
    for argv in commands:
        assert agot.cli.main([*argv, *(["--quiet"] if argv[0] in ("eval", "solve") else [])]) == 0
        captured = capsys.readouterr()
        outputs.append(captured.out + captured.err)
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any("traces" in p.parts for p in written) and Path("page.html").exists()
    assert "***" in Path("run/results.jsonl").read_text()  # the masked name is what rows carry
    from agot.view.export import readable

    for path in written:
        assert KEY not in str(path.relative_to(tmp_path)), path
        data = path.read_bytes()
        if path.suffix == ".html":  # the export packs item pages: read them unpacked
            data = readable(data.decode()).encode()
        assert KEY.encode() not in data, path
    for text in outputs:
        assert KEY not in text


def test_a_fleet_files_refused_key_is_not_echoed(tmp_path, capsys):
    fleet = tmp_path / "fleet.toml"
    fleet.write_text(f'[[endpoints]]\napi_base = "http://127.0.0.1:9/v1"\napi_key = "{KEY}"\n')
    assert agot.cli.main(["solve", "q", "--model", "scripted", "--api-base", str(fleet)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("agot: error: ") and "api_key" in err and KEY not in err, err


def test_a_reply_that_quotes_the_key_is_stored_without_it(monkeypatch):
    pytest.importorskip("litellm")
    from types import SimpleNamespace

    from agot.backends.litellm_backend import LiteLLMBackend
    from agot.backends.registry import BackendOptions

    backend = LiteLLMBackend(
        "openai/x", options=BackendOptions(api_base="http://127.0.0.1:9/v1", api_key=KEY)
    )
    message = SimpleNamespace(content=f"your key is {KEY}, keep it safe")
    response = SimpleNamespace(choices=[SimpleNamespace(message=message, finish_reason="stop")])
    reply = backend._reply(response, [])
    assert KEY not in reply.text and "***" in reply.text


def test_redactor_reads_unicode_escapes_as_letters():
    """#25 item 5: a structured reply stored with \\uXXXX escapes quoted a non-ASCII question
    in full, past the word windows."""
    secret = "Quelle énergie libère le noyau lorsqu'il fissionne complètement ici"
    r = Redactor([secret], namespace="gpqa", item_id="rec1")
    escaped = json.dumps({"answer": f"Restating: {secret}"})  # ensure_ascii: \u00e9
    assert "\\u00e9" in escaped
    out = r.redact_text(escaped)
    assert "noyau" not in out and "[redacted gpqa:rec1:" in out
    assert json.loads(out)["answer"].startswith("Restating: [redacted")
    untouched = json.dumps({"answer": "caf\u00e9 au lait"})
    assert r.redact_text(untouched) == untouched  # no secret: the text stays as written


@pytest.mark.parametrize("marker", ["...", "…"])
def test_redactor_replaces_the_clipped_start_of_a_secret(marker):
    """#25 item 5: text clipped before it was redacted let an option's first characters
    through (trace fields, 400-error bodies)."""
    from agot.text import clip

    option = "Benzaldehyde oxime hydrochloride"
    r = Redactor([option], namespace="gpqa", item_id="rec1")
    clipped = clip(f"the option is {option}", 26, marker=marker)
    assert clipped.endswith(marker) and "Benzald" in clipped
    out = r.redact_text(f"error: {clipped}")
    assert "Benzald" not in out
    assert re.search(r"\[redacted gpqa:rec1:\w+\]" + re.escape(marker) + "$", out), out
    assert r.redact_text("nothing here... at all") == "nothing here... at all"
    assert r.redact_text("Benz...") == "Benz..."  # too short a start to say


@pytest.mark.parametrize("marker", ["...", "…"])
def test_redactor_replaces_a_question_cut_inside_it(marker):
    """#25 item 5: a prompt clips a node's answer that quotes the question mid-sentence, so
    the stored prompt ends in four words of the question and part of a fifth: fewer than the
    five-word window, from no string's start."""
    from agot.text import clip

    question = "Which isomer forms when the chilled sealed flask holds excess bromine vapour"
    r = Redactor([question], namespace="gpqa", item_id="rec1")
    quoted = "As asked, when the chilled sealed flask holds excess bromine vapour, the answer is"
    clipped = clip(quoted, 39, marker=marker)
    assert clipped.startswith("As asked, when the chilled sealed fl") and clipped.endswith(marker)
    out = r.redact_text(f"Earlier answer: {clipped}")
    assert "chilled" not in out and "sealed" not in out, out
    assert out.startswith("Earlier answer: As asked, [redacted gpqa:rec1:"), out
    assert out.endswith(marker)
    # Ordinary text before a cut is kept, and so are two common words shorter than 12 chars.
    for kept in (f"the flask{marker}", f"we then heated it gently{marker}"):
        assert r.redact_text(kept) == kept


def test_the_direct_http_client_stores_a_reply_that_quotes_the_key_without_it(monkeypatch):
    pytest.importorskip("httpx")
    from agot.backends.openai_http import OpenAIHTTPBackend
    from agot.backends.registry import BackendOptions

    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    backend = OpenAIHTTPBackend(
        "openai/x", options=BackendOptions(api_base="http://127.0.0.1:9/v1")
    )
    content = json.dumps(
        {"choices": [{"message": {"content": f"the key is {KEY}"}, "finish_reason": "stop"}]}
    ).encode()
    reply = backend._reply(content, [])
    assert KEY not in reply.text and "***" in reply.text
