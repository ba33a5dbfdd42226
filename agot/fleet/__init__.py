"""Serving fleets: one model on several replicas, with routing and failover.

``Dispatcher("openai/m", endpoints=["http://a:8000/v1", "http://b:8000/v1"], replica_policy=...)``
(or ``--api-base URL1,URL2`` / ``--fleet FILE`` on the command line) sends each call of that model
to one replica, chosen by a :mod:`routing policy <agot.fleet.policies>`; a replica that keeps
failing is taken out by its circuit breaker, and its calls are retried on the others.

Names are imported on first use (:func:`agot.lazy.lazy_attributes`): every eval imports
``agot.fleet.stats``, and should not load the router, the predictor and the fleet-file reader
before its first request when no fleet is used.
"""

from typing import TYPE_CHECKING

from agot.lazy import lazy_attributes

if TYPE_CHECKING:
    from agot.fleet.breaker import CircuitBreaker, is_endpoint_failure
    from agot.fleet.endpoint import ROUTING_NAMES, Endpoint, FleetSpec, load_fleet, parse_endpoints
    from agot.fleet.fleet import Fleet, Replica, ReplicaStats
    from agot.fleet.policies import (
        LeastOutstanding,
        Predictive,
        RoundRobin,
        RoutingPolicy,
        make_policy,
    )
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

__getattr__ = lazy_attributes(
    __name__,
    {
        "CircuitBreaker": "agot.fleet.breaker",
        "is_endpoint_failure": "agot.fleet.breaker",
        "ROUTING_NAMES": "agot.fleet.endpoint",
        "Endpoint": "agot.fleet.endpoint",
        "FleetSpec": "agot.fleet.endpoint",
        "load_fleet": "agot.fleet.endpoint",
        "parse_endpoints": "agot.fleet.endpoint",
        "Fleet": "agot.fleet.fleet",
        "Replica": "agot.fleet.fleet",
        "ReplicaStats": "agot.fleet.fleet",
        "LeastOutstanding": "agot.fleet.policies",
        "Predictive": "agot.fleet.policies",
        "RoundRobin": "agot.fleet.policies",
        "RoutingPolicy": "agot.fleet.policies",
        "make_policy": "agot.fleet.policies",
        "LatencyModel": "agot.fleet.predictor",
        "OutputTokens": "agot.fleet.predictor",
        "CallInfo": "agot.fleet.router",
        "EndpointRouter": "agot.fleet.router",
        "EndpointState": "agot.fleet.router",
        "NoEndpoint": "agot.fleet.router",
        "ReplicaSpec": "agot.fleet.router",
        "Ticket": "agot.fleet.router",
    },
)
