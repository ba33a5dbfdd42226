"""Plans: what a run will spend and how long it will take, predicted from a pilot of it.

``pilot`` records what the pilot's units did (calls, tokens, cost, timing, dependencies),
``predict`` turns that into the whole run's figures with 90% intervals (a bootstrap over items),
``simulate`` replays sampled units against a run's concurrency and rate limits for its wall
time, ``whatif`` varies one setting per scenario, ``prices`` prices calls otherwise than the
pilot's backend did, and ``render`` prints or dumps a plan. Running the pilot itself is the eval
harness's work: ``agot plan eval`` (:mod:`agot.cli.plan`) does it and hands the results here.
"""

from agot.plan.pilot import CallSample, Pilot, UnitSample, unit_from_result
from agot.plan.predict import Interval, Prediction, predict
from agot.plan.simulate import Settings, simulate
from agot.plan.whatif import Scenario, parse_what_if

__all__ = [
    "CallSample",
    "Interval",
    "Pilot",
    "Prediction",
    "Scenario",
    "Settings",
    "UnitSample",
    "parse_what_if",
    "predict",
    "simulate",
    "unit_from_result",
]
