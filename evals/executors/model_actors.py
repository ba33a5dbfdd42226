"""Local models hosted as Ray actors, one per GPU (or CPU slot), called like any backend.

A ``transformers/...`` or ``llamacpp/...`` model loaded inside every eval worker would load
once per worker and could not be placed on GPUs. Instead the executor starts
``replicas`` :class:`ModelHost` actors, each reserving ``num_gpus`` (1: one per GPU, 0.5: two
share a GPU) and ``num_cpus``, and every worker's dispatcher talks to them through an
:class:`ActorBackend`. The dispatcher's limits, retries, re-asks and cache stay where they are;
only the model's forward pass moves.

Routing picks a replica per call through a :class:`Picker` (least outstanding calls by
default), the same small interface a fleet-routing policy fills. A replica that dies is
restarted by Ray (``max_restarts``) and the call that was on it is sent again, to another
replica when one is up, so a lost actor costs time, not results.

No Ray import at module level: this module is only loaded on the Ray path.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any, Protocol

from pydantic import Field

from agot.backends.base import Capabilities
from agot.backends.registry import BackendOptions, resolve_backend
from agot.config import Settings
from agot.errors import AgotError, BackendError, TransientBackendError
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
    #: Times a call is sent again after the replica serving it died.
    retries: int = Field(3, ge=0)
    #: Seconds a replica that died is avoided while Ray restarts it (when another is up).
    down_s: float = Field(10.0, ge=0)
    #: Options for the hosted backends (device, n_ctx, engine extras); the run's api_base
    #: is added when these do not set one.
    backend_options: BackendOptions | None = None

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


class Picker(Protocol):
    """Chooses a replica for the next call from the calls each has outstanding."""

    def pick(self, outstanding: Sequence[int], up: Sequence[bool]) -> int: ...


class LeastOutstanding:
    """Fewest outstanding calls among the replicas that are up; ties go round the ring."""

    def __init__(self) -> None:
        self._turn = 0

    def pick(self, outstanding: Sequence[int], up: Sequence[bool]) -> int:
        candidates = [i for i in range(len(outstanding)) if up[i]] or list(range(len(up)))
        n = len(outstanding)
        start = self._turn % n
        self._turn += 1
        order = sorted(candidates, key=lambda i: (outstanding[i], (i - start) % n))
        return order[0]


class ActorBackend:
    """A backend whose calls go to model actors; ``name``/``model`` are the hosted backend's,
    so traces, result rows and cache keys read the same as a local run's."""

    def __init__(
        self,
        handles: Sequence[Any],
        description: dict[str, Any],
        *,
        retries: int = 3,
        down_s: float = 10.0,
        picker: Picker | None = None,
    ) -> None:
        self.handles = list(handles)
        self.name = str(description["name"])
        self.model = str(description["model"])
        capabilities = Capabilities(**description["capabilities"])
        self.capabilities = capabilities.model_copy(
            update={"default_concurrency": capabilities.default_concurrency * len(self.handles)}
        )
        self.retries = retries
        self.down_s = down_s
        self.picker: Picker = picker or LeastOutstanding()
        self.outstanding = [0] * len(self.handles)
        self._down_until = [0.0] * len(self.handles)
        #: Replies received, and calls sent again because their replica died.
        self.served = 0
        self.resent = 0

    async def generate(self, request: GenerationRequest) -> BackendReply:
        from ray.exceptions import ActorUnavailableError, RayActorError

        for attempt in range(self.retries + 1):
            now = time.monotonic()
            up = [until <= now for until in self._down_until]
            index = self.picker.pick(self.outstanding, up)
            self.outstanding[index] += 1
            try:
                reply = await self.handles[index].generate.remote(request)
            except (RayActorError, ActorUnavailableError) as exc:
                self._down_until[index] = time.monotonic() + self.down_s
                if attempt == self.retries:
                    raise TransientBackendError(
                        f"model actor for {self.model!r} died {attempt + 1} times: {exc}",
                        backend=self.name,
                    ) from None
                self.resent += 1
                continue
            finally:
                self.outstanding[index] -= 1
            self._down_until[index] = 0.0
            self.served += 1
            if isinstance(reply, dict):
                error_type = TransientBackendError if reply["transient"] else BackendError
                kwargs: dict[str, Any] = {"backend": self.name, "status": reply["status"]}
                if reply["transient"]:
                    kwargs["retry_after"] = reply["retry_after"]
                raise error_type(reply["error"], **kwargs)
            return reply
        raise AssertionError("unreachable")

    async def aclose(self) -> None:
        """The actors belong to the executor, which stops them when the run ends."""
        return None
