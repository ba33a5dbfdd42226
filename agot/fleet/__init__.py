"""Serving fleets: one model on several replicas, with routing and failover.

``Dispatcher("openai/m", endpoints=["http://a:8000/v1", "http://b:8000/v1"], replica_policy=...)``
(or ``--api-base URL1,URL2`` / ``--fleet FILE`` on the command line) sends each call of that model
to one replica, chosen by a :mod:`routing policy <agot.fleet.policies>`; a replica that keeps
failing is taken out by its circuit breaker, and its calls are retried on the others.
"""

from agot.fleet.breaker import CircuitBreaker, is_endpoint_failure
from agot.fleet.endpoint import (
    ROUTING_NAMES,
    Endpoint,
    FleetSpec,
    load_fleet,
    parse_endpoints,
)
from agot.fleet.fleet import Fleet, Replica, ReplicaStats
from agot.fleet.policies import LeastOutstanding, Predictive, RoundRobin, RoutingPolicy, make_policy
from agot.fleet.predictor import LatencyModel, OutputTokens
from agot.fleet.router import (
    CallInfo,
    EndpointRouter,
    EndpointState,
    NoEndpoint,
    ReplicaSpec,
    Ticket,
)

__all__ = [
    "ROUTING_NAMES",
    "CallInfo",
    "CircuitBreaker",
    "Endpoint",
    "EndpointRouter",
    "EndpointState",
    "Fleet",
    "FleetSpec",
    "LatencyModel",
    "LeastOutstanding",
    "NoEndpoint",
    "OutputTokens",
    "Predictive",
    "Replica",
    "ReplicaSpec",
    "ReplicaStats",
    "RoundRobin",
    "RoutingPolicy",
    "Ticket",
    "is_endpoint_failure",
    "load_fleet",
    "make_policy",
    "parse_endpoints",
]
