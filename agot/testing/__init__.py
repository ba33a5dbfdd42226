"""Test doubles for agot and for code built on it, importable from one place.

Tests, benchmarks and users' own tests share them, so a benchmark that claims to run a test's
workload really does (and none of them puts ``tests/`` on ``sys.path``). Standard library and
agot only; each server listens on 127.0.0.1 and nowhere else.

* :mod:`.openai_stub_server`: an OpenAI-compatible chat server answering from a script of
  canned responses, recording every request (``OpenAIStubServer``, ``StubResponse``).
* :mod:`.fault_server`: the stub with a seeded storm of 429s, 500s, hangs and bad bodies
  (``FaultServer``, ``FaultPlan``).
* :mod:`.prompt_cache_server`: the stub with usage by OpenAI's prompt caching rule, and
  HotpotQA distractor-style items with AGoT's replies over HTTP, for prompt-cache checks.
* :mod:`.latency_server`: a keep-alive server answering after a fixed delay, for throughput.
* :mod:`.replica_server`: a model replica with batch slots and a speed, for fleet tests.
* :mod:`.agot_scripts`, :mod:`.search_scripts`: scripted-backend behaviours for AGoT and for
  ToT/AoT/best-of-N, so control flow is tested and timed without a model.
* :mod:`.eval_workload`: the trivial ``agot eval hotpotqa`` workload and its command line.
* :mod:`.view_runs`: two scripted eval runs and a trace, for the viewer.
* :mod:`.trace_events`: trace events of finished scripted calls, for timing readers.
* :mod:`.game24_replies`, :mod:`.hostile_inputs`: generated replies for the answer parsers.
* :mod:`.replay`: the command line of the faithfulness replays (published code vs agot).

Import the module you need (``from agot.testing.fault_server import FaultServer``); this
package imports none of them, so ``import agot`` never starts loading servers.
"""
