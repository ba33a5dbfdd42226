"""How a dispatcher's arguments become a fleet: which endpoints, which model, which replicas.

:class:`~agot.dispatcher.Dispatcher` takes ``endpoints=`` (URLs, :class:`Endpoint` s, a fleet
file, or an ``api_base`` listing several URLs) and ``replica_policy=``; this module reads them
into a :class:`FleetSpec`, checks the model can run on endpoints, and builds one backend per
replica. The dispatcher only registers what it is given (each replica is an ordinary model
entry with its own limits and gate), so nothing about fleets lives in its call path beyond
handing a call to :meth:`Fleet.call`. Fleet modules are imported only when a fleet is asked
for: a run on one endpoint pays nothing for them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from agot.backends.registry import (
    DEFAULT_MODEL,
    BackendOptions,
    parse_model_string,
    resolve_backend,
)
from agot.errors import ConfigError

if TYPE_CHECKING:
    from agot.backends.base import Backend
    from agot.fleet.endpoint import FleetSpec
    from agot.fleet.fleet import Fleet
    from agot.limits import Limits

#: Extensions of a fleet file named where a URL list is expected.
FLEET_FILE_SUFFIXES = (".toml", ".json")


def fleet_spec(
    endpoints: Any, api_base: str | None, policy: Any = None, routing: Any = None
) -> FleetSpec | None:
    """The fleet the arguments describe (None: one endpoint, the usual case).

    ``endpoints`` wins; else an ``api_base`` listing several URLs (comma-separated) or naming
    a fleet file makes one. ``routing`` is ``policy``'s deprecated old name (it warns).
    """
    if routing is not None:
        from agot.fleet.policies import replica_policy_option

        policy = replica_policy_option(policy, routing)
    if endpoints is None and api_base is not None:
        if "," in api_base or api_base.lower().endswith(FLEET_FILE_SUFFIXES):
            endpoints = api_base
    if endpoints is None:
        return None
    from agot.fleet.endpoint import FleetSpec, load_fleet, parse_endpoints

    if isinstance(endpoints, str) and endpoints.lower().endswith(FLEET_FILE_SUFFIXES):
        spec = load_fleet(endpoints)
    elif isinstance(endpoints, FleetSpec):
        spec = endpoints
    else:
        spec = FleetSpec(endpoints=parse_endpoints(endpoints))
    if policy is not None:
        spec = spec.model_copy(update={"replica_policy": policy})
    return spec


def fleet_model(model: Any, from_file: str | None) -> str:
    """The model string a fleet serves: ``model``, else the fleet file's ("local", the
    default, never runs on endpoints)."""
    key = model if isinstance(model, str) and model != DEFAULT_MODEL else from_file
    if key is None or (model is not None and not isinstance(model, str)):
        raise ConfigError(
            "several endpoints need the model string they serve: pass --model "
            "openai/<name> (or set model in the fleet file)"
        )
    if parse_model_string(key)[0] in ("local", "llamacpp", "transformers"):
        raise ConfigError(
            f"model {key!r} runs in-process, not on endpoints: serve it from several "
            "servers and pass --model openai/<name> with their URLs"
        )
    return key


def build_fleet(
    key: str,
    spec: FleetSpec,
    *,
    limits: Limits,
    options: BackendOptions,
    add_replica: Callable[[str, Limits, Backend], Any],
) -> Fleet[Any]:
    """The fleet serving model ``key`` on ``spec``'s endpoints.

    Each endpoint gets its own backend (``options`` with its URL) and limits (``limits``
    narrowed by the endpoint's own); ``add_replica(replica_key, limits, backend)`` registers
    it with the caller and returns the entry the fleet routes to (it has a ``gate``).
    """
    from agot.fleet.fleet import Fleet, Replica

    replicas = []
    for endpoint in spec.endpoints:
        backend = resolve_backend(
            key, options=options.model_copy(update={"api_base": endpoint.api_base})
        )
        entry = add_replica(f"{key}@{endpoint.label}", endpoint.limits(limits), backend)
        replicas.append(Replica(endpoint.label, entry, entry.gate.concurrency, endpoint.weight))
    return Fleet(key, replicas, spec.replica_policy)
