"""Faithfulness of agot's Atom of Thoughts on HotpotQA: the steps it takes against the published
code's, on the same scripted replies.

The published code (qixucen/atom, ``experiment/module.py``'s ``atom`` with the multi-hop
prompter, as ``main.py --mode atom`` runs it on HotpotQA) and agot's
:class:`~agot.strategies.AoT` answer one two-hop question from a scripted model that knows one
chain: subquestion 1 (answer ``A1``), subquestion 2 needing it (the chain's answer), the
contracted question that states ``A1`` as given, a direct answer and an ensemble answer. Each
side's prompt is read for what it asks (which question, which step); the replies carry the
same content in the format each side's parser reads (the published prompts ask for JSON and
``<question>`` tags, agot's for an ``Answer:`` line and a schema-checked decomposition).

Three scenarios: the direct answer agrees with the chain (``agree``); it differs and the
ensemble sides with the chain (``chain``); the ensemble names a third answer (``third``).
Per scenario the script prints each side's steps in the order they were asked, the number of
contractions, the method selected and the answer.

``--atom-repo PATH`` (a checkout of qixucen/atom, outside this repository; needs ``openai``)
runs the published code itself: its ``experiment`` package and ``llm.py`` loaded from there,
the OpenAI client pointed at a stub OpenAI-compatible server on 127.0.0.1 that answers with
the script (no network, no key). ``--record FILE`` saves its steps, which
``tests/test_tot_replays.py`` compares agot with (``tests/fixtures/hotpotqa/aot_replay.json``).

Run: ``python benchmarks/bench_aot_hotpotqa_replay.py --atom-repo /tmp/atom``
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import types
from pathlib import Path
from typing import Any

from agot.backends.scripted import ScriptedBackend
from agot.strategies import AoT
from agot.strategies.atom_of_thoughts import Decomposition, Subquestion
from agot.task import Task
from agot.testing.openai_stub_server import OpenAIStubServer, StubResponse
from agot.testing.replay import published_side, replay_parser, save_published
from agot.types import GenerationRequest

QUESTION = "Which river flows through the capital of the fictional country Veloria?"
CONTEXT = (
    "Veloria: Veloria is a fictional country. Its capital is Corvin City.\n"
    "Corvin City: Corvin City lies on the Amsel River."
)
SUB1 = "What is the capital of Veloria?"
SUB2 = "Which river flows through that capital?"
A1 = "Corvin City"
CHAIN = "the Amsel River"
CONTRACTED = "Which river flows through Corvin City?"
#: scenario -> (direct answer, ensemble answer)
SCENARIOS = {
    "agree": (CHAIN, CHAIN),
    "chain": ("the Tarn", CHAIN),
    "third": ("the Tarn", "the Lumen"),
}


def published_steps(repo: Path, direct: str, ensemble: str) -> dict[str, Any]:
    """The published ``atom`` on :data:`QUESTION`, through the checkout's own ``llm.py`` (the
    OpenAI client) against a stub OpenAI-compatible server on 127.0.0.1 that answers with
    the script."""
    steps: list[str] = []

    def reply_to(prompt: str) -> str:
        if "Breaks down multi-hop questions" in prompt:
            steps.append("decompose")
            subs = [
                {"description": SUB1, "supporting_sentences": [], "answer": A1},
                {"description": SUB2, "supporting_sentences": [], "answer": CHAIN},
            ]
            reply = {"question": QUESTION, "thought": "t", "sub-questions": subs,
                     "conclusion": "c", "answer": CHAIN}  # fmt: skip
        elif "dependency relationship" in prompt:
            steps.append("label dependencies")
            subs = [{"description": SUB1, "answer": A1, "supporting_sentences": [], "depend": []},
                    {"description": SUB2, "answer": CHAIN, "supporting_sentences": [],
                     "depend": [0]}]  # fmt: skip
            reply = {"thought": "t", "sub-questions": subs}
        elif "optimize the existing reasoning trajectory" in prompt:
            steps.append("contract")
            # one line: the code reads tags with ``.*?`` without DOTALL, so a context over several
            # lines is not found and the contraction is asked again (six times in all)
            context = CONTEXT.replace("\n", " ")
            return f"Given {A1}. <question>{CONTRACTED}</question><context>{context}</context>"
        elif "Compare then synthesize" in prompt:
            steps.append("ensemble")
            reply = {"question": QUESTION, "thought": "t", "supporting_sentences": [],
                     "answer": ensemble}  # fmt: skip
        else:
            contracted = CONTRACTED in prompt
            steps.append("answer contracted" if contracted else "answer direct")
            reply = {"question": QUESTION, "thought": "t", "supporting_sentences": [],
                     "answer": CHAIN if contracted else direct}  # fmt: skip
        return json.dumps(reply)

    with OpenAIStubServer() as server:
        server.default = lambda body: StubResponse.chat(reply_to(body["messages"][-1]["content"]))
        module = _published_module(repo, server.base_url)
        module.set_module("multi-hop")
        result, _log = asyncio.run(module.atom(QUESTION, [CONTEXT]))
    return {
        "steps": steps,
        "contractions": steps.count("contract"),
        "method": result["method"],
        "answer": result["answer"],
    }


def _published_module(repo: Path, url: str) -> Any:
    """``experiment.module`` from the checkout at ``repo``, its ``llm.py`` pointed at ``url``
    (the code reads the URL and key from an ``apikey`` module it does not ship)."""
    if str(repo) not in sys.path:
        sys.path.insert(0, str(repo))
    apikey = types.ModuleType("apikey")
    apikey.url, apikey.api_key = url, "sk-local-stub"  # type: ignore[attr-defined]
    sys.modules["apikey"] = apikey
    for name in [
        m for m in sys.modules if m in ("llm", "experiment") or m.startswith("experiment.")
    ]:
        del sys.modules[name]
    import experiment.module as module  # type: ignore[import-not-found]
    import llm  # type: ignore[import-not-found]

    llm.set_model("stub-model")
    return module


def agot_steps(direct: str, ensemble: str, **params: Any) -> dict[str, Any]:
    """agot's AoT on :data:`QUESTION`, answered by the same script."""
    steps: list[str] = []

    def script(request: GenerationRequest) -> Any:
        text = request.messages[-1].content
        if request.role == "decompose":
            steps.append("decompose")
            if CONTRACTED in text:  # the contracted question is atomic
                return Decomposition(subquestions=[Subquestion(question=CONTRACTED)])
            return Decomposition(
                subquestions=[
                    Subquestion(question=SUB1),
                    Subquestion(question=SUB2, depends_on=[1]),
                ]
            )
        if request.role == "solve":
            steps.append("solve")
            return f"Answer: {A1}"
        if request.role == "contract":
            steps.append("contract")
            return CONTRACTED
        if request.role == "ensemble":
            steps.append("ensemble")
            return f"Answer: {ensemble}"
        contracted = CONTRACTED in text
        steps.append("answer contracted" if contracted else "answer direct")
        return f"Answer: {CHAIN if contracted else direct}"

    task = Task(question=QUESTION, context=CONTEXT)
    result = asyncio.run(AoT(**params).solve(task, model=ScriptedBackend(script)))
    return {
        "steps": steps,
        "contractions": steps.count("contract"),
        "method": result.details["method"],
        "answer": result.answer,
    }


def normal(text: str) -> str:
    return re.sub(r"\W+", " ", text.lower()).strip()


def main() -> int:
    parser = replay_parser(__doc__.splitlines()[0], "atom-repo", "qixucen/atom")
    args = parser.parse_args()
    repo, recorded = published_side(parser, args, "atom-repo")
    saved, same_answers, report = {}, 0, {}
    for name, (direct, ensemble) in SCENARIOS.items():
        theirs = published_steps(repo, direct, ensemble) if repo else recorded[name]
        saved[name] = theirs
        ours = agot_steps(direct, ensemble)
        one_round = agot_steps(direct, ensemble, max_iterations=1)
        same = normal(ours["answer"]) == normal(theirs["answer"])
        same_answers += same
        print(f"{name}: published {json.dumps(theirs)}")
        print(f"{name}: agot      {json.dumps(ours)}")
        print(f"{name}: agot, max_iterations=1 {json.dumps(one_round)}")
        report[name] = {"published": theirs, "agot": ours, "agot_one_round": one_round}
        print(f"{name}: same answer {same}, contractions {ours['contractions']} vs "
              f"{theirs['contractions']}")  # fmt: skip
    print(f"same answer in {same_answers}/{len(SCENARIOS)} scenarios")
    print(json.dumps(report))
    save_published(args, saved)
    return 0


if __name__ == "__main__":
    sys.exit(main())
