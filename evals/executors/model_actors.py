"""Local models hosted as Ray actors, one per GPU (or CPU slot), called like any backend.

A ``transformers/...`` or ``llamacpp/...`` model loaded inside every eval worker would load
once per worker and could not be placed on GPUs. Instead the executor starts
``replicas`` :class:`ModelHost` actors, each reserving ``num_gpus`` (1: one per GPU, 0.5: two
share a GPU) and ``num_cpus``, and every worker's dispatcher talks to them through an
:class:`ActorBackend`. The dispatcher's limits, retries, re-asks and cache stay where they are;
only the model's forward pass moves.

The actors of a model are the replicas of an :class:`agot.fleet.Fleet`, so its routing
policies (round-robin, least-outstanding, predictive) choose an actor per call, as they choose
a server. A replica that dies is restarted by Ray (``max_restarts``) and the calls that were on
it go to another replica, so a lost actor costs time, not results.

No Ray import at module level: this module is only loaded on the Ray path.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from pydantic import Field, model_validator

from agot.backends.base import Capabilities
from agot.backends.registry import BackendOptions, resolve_backend
from agot.config import Settings
from agot.errors import AgotError, BackendError, TransientBackendError
from agot.fleet import Fleet, Replica, RoutingPolicy, make_policy
from agot.fleet.policies import renamed_routing
from agot.types import BackendReply, GenerationRequest

#: Model-string prefixes that run in-process and so gain from being hosted as actors.
LOCAL_PREFIXES = ("local", "llamacpp/", "transformers/")


def is_local_model(model: str) -> bool:
    return model == "local" or model.startswith(LOCAL_PREFIXES[1:])


class ModelActors(Settings):
    """How the executor hosts local models: replicas per model and what each one reserves."""

    replicas: int = Field(1, ge=1)
    #: GPUs per replica: 1 places one replica per GPU, 0.5 two per GPU, 0 runs on CPU.
    num_gpus: float = Field(0.0, ge=0)
    num_cpus: float = Field(1.0, ge=0)
    #: Which model strings to host (None: every local one under test: local, llamacpp/,
    #: transformers/). Naming others (e.g. scripted/...) hosts them too.
    models: tuple[str, ...] | None = None
    #: The fleet's replica policy choosing an actor per call: round-robin, least-outstanding
    #: or predictive (None: the fleet's default); ``routing`` is its old name.
    replica_policy: str | None = None
    #: Options for the hosted backends (device, n_ctx, engine extras); the run's api_base
    #: is added when these do not set one.
    backend_options: BackendOptions | None = None

    @model_validator(mode="before")
    @classmethod
    def _old_names(cls, data: Any) -> Any:
        return renamed_routing(data)

    def model_post_init(self, context: Any) -> None:
        make_policy(self.replica_policy)  # an unknown name is a ConfigError now, not in a worker

    def hosts(self, model: str) -> bool:
        return model in self.models if self.models is not None else is_local_model(model)


class ModelHost:
    """A backend living in its own process (wrapped by ``ray.remote`` in the executor)."""

    def __init__(self, model: str, options: BackendOptions | None = None) -> None:
        self.served = 0
        #: A model that does not load (bad path, missing extra) is reported, not retried.
        self.setup_error: str | None = None
        try:
            self.backend = resolve_backend(model, options=options or BackendOptions())
        except AgotError as exc:
            self.setup_error = str(exc)

    def describe(self) -> dict[str, Any]:
        if self.setup_error is not None:
            return {"error": self.setup_error}
        b = self.backend
        return {
            "name": b.name,
            "model": b.model,
            "capabilities": b.capabilities.model_dump(),
            "pid": os.getpid(),
            "served": self.served,
        }

    async def generate(self, request: GenerationRequest) -> BackendReply | dict[str, Any]:
        """The reply, or a backend error as data (so its type and fields survive the hop)."""
        try:
            reply = await self.backend.generate(request)
            self.served += 1
            return reply
        except BackendError as exc:
            return {
                "error": str(exc),
                "transient": isinstance(exc, TransientBackendError),
                "status": exc.status,
                "retry_after": getattr(exc, "retry_after", None),
            }

    async def aclose(self) -> None:
        await self.backend.aclose()


class ActorBackend:
    """A backend whose calls go to model actors, routed by a fleet policy.

    ``name``/``model`` are the hosted backend's, so traces, result rows and cache keys read
    the same as a local run's. The actors are the replicas of an :class:`agot.fleet.Fleet`:
    its policy picks one per call, its router queues calls beyond each replica's batch size,
    and a replica whose actor died counts as a failed endpoint, so the call goes straight to
    another replica (and the breaker keeps new calls off it until Ray has restarted it).
    When every replica failed, the error reaches the dispatcher, which backs off and retries.
    """

    def __init__(
        self,
        handles: Sequence[Any],
        description: dict[str, Any],
        *,
        replica_policy: str | RoutingPolicy | None = None,
    ) -> None:
        self.name = str(description["name"])
        self.model = str(description["model"])
        capabilities = Capabilities(**description["capabilities"])
        per_replica = capabilities.default_concurrency
        self.capabilities = capabilities.model_copy(
            update={"default_concurrency": per_replica * len(handles)}
        )
        replicas = [
            Replica(name=f"actor{i}", target=handle, capacity=per_replica)
            for i, handle in enumerate(handles)
        ]
        self.fleet: Fleet[Any] = Fleet(self.model, replicas, replica_policy)
        #: Replies received, and calls sent again because their actor died.
        self.served = 0
        self.resent = 0

    async def generate(self, request: GenerationRequest) -> BackendReply:
        from ray.exceptions import ActorUnavailableError, RayActorError

        async def attempt(handle: Any, name: str) -> BackendReply:
            try:
                reply = await handle.generate.remote(request)
            except (RayActorError, ActorUnavailableError) as exc:
                self.resent += 1
                raise TransientBackendError(
                    f"model actor {name} of {self.model!r} is down: {type(exc).__name__}",
                    backend=self.name,
                ) from None
            if isinstance(reply, dict):
                if reply["transient"]:
                    raise TransientBackendError(
                        reply["error"],
                        backend=self.name,
                        status=reply["status"],
                        retry_after=reply["retry_after"],
                    )
                raise BackendError(reply["error"], backend=self.name, status=reply["status"])
            self.served += 1
            return reply

        return await self.fleet.call(request, attempt, failed=[])

    async def aclose(self) -> None:
        """The actors belong to the executor, which stops them when the run ends."""
        return None
