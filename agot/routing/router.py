"""The Router: which model serves each step, when to escalate, and what may leave the machine.

Model choice happens here, before the dispatcher: the router sets ``request.model`` and the
dispatcher serves that model string from its own slot (its limits, its cache; an endpoint
choice among replicas of that model belongs to the dispatcher's side). Three policies:

* **Per-role routing**: ``{"assess": "local", "solve": "local", "final": "openai/gpt-4o"}``;
  roles not named go to ``default`` (the dispatcher's default model when None).
* **Cascade**: with ``escalate_to``, a step routed to another (cheaper) model is answered there
  first and sent again to ``escalate_to`` when the cheap reply is not trusted: it failed its
  schema after the re-asks, its backend failed, or the confidence signal
  (:mod:`agot.routing.signals`) is below ``escalate_below``.
* **Privacy** (``keep_local="context"``): the task's context passages never reach a model that
  runs outside this process (:mod:`agot.routing.privacy`).

Use it from Python as ``AGoT(models={...})``, ``AGoT(router=Router(...))`` or
``Dispatcher(..., router=Router(...))`` (then every strategy run over that dispatcher routes,
and direct ``dispatcher.generate`` calls such as the eval judge are routed by role too).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, field_validator

from agot.backends.base import Backend
from agot.errors import BackendError, ConfigError, SchemaError
from agot.routing.privacy import Redactor
from agot.routing.signals import Signal, make_signal
from agot.routing.spec import check_model, check_role, parse_routes, split_endpoint
from agot.types import Generation, GenerationRequest
from agot.url_secrets import redact_model

if TYPE_CHECKING:
    from agot.dispatcher import Dispatcher

#: Backend families that run inside this process.
IN_PROCESS_BACKENDS = frozenset({"llamacpp", "transformers", "scripted"})
KEEP_LOCAL = ("context",)

ModelSpec = str | Backend


class Escalation(BaseModel):
    """One step the cheap model did not keep."""

    node_id: str | None
    role: str
    cheap_model: str
    model: str
    reason: str = Field(description="schema | backend error | low confidence | no signal")
    confidence: float | None = None
    cheap_calls: list[str] = Field(default_factory=list)
    call_id: str | None = None

    @field_validator("cheap_model", "model")
    @classmethod
    def _no_secret(cls, value: str) -> str:
        return redact_model(value)  # written to traces and --json


@dataclass
class RouteLog:
    """What routing did in one run (goes into ``Result.details["routing"]``)."""

    trusted: int = 0
    escalations: list[Escalation] = field(default_factory=list)
    remote_calls: int = 0
    withheld_passages: int = 0

    def summary(self, router: Router) -> dict[str, Any]:
        cascaded = self.trusted + len(self.escalations)
        return {
            **router.describe(),
            "cascaded_steps": cascaded,
            "escalated_steps": len(self.escalations),
            "escalation_rate": round(len(self.escalations) / cascaded, 4) if cascaded else 0.0,
            "remote_calls": self.remote_calls,
            "withheld_passages": self.withheld_passages,
            "escalations": [e.model_dump() for e in self.escalations],
        }


def _key(model: ModelSpec) -> str:
    if isinstance(model, str):
        return check_model(model)
    if isinstance(model, Backend):
        return f"{model.name}:{model.model}"
    raise ConfigError(f"a routed model must be a model string or a Backend, got {model!r}")


class Router:
    """Per-role model choice, cascade and privacy policy; see the module docstring.

    ``models`` maps roles to model strings (``MODEL`` or ``MODEL@URL``) or Backend objects, or
    is a ``"ROLE=MODEL,..."`` string. ``signal`` is ``self``, ``agree`` (with ``samples``),
    ``logprob``, ``schema`` or a :class:`~agot.routing.signals.Signal`. ``escalate_roles``
    limits the cascade to some roles (default: every role not routed to ``escalate_to``).
    ``local_models`` / ``remote_models`` override where a model counts as running (by default
    in-process backends are local and everything reached over HTTP is remote).
    """

    def __init__(
        self,
        models: Mapping[str, ModelSpec] | str | None = None,
        *,
        default: ModelSpec | None = None,
        escalate_to: ModelSpec | None = None,
        escalate_below: float = 0.7,
        signal: str | Signal = "self",
        samples: int = 3,
        escalate_roles: Iterable[str] | None = None,
        keep_local: str | None = None,
        local_models: Iterable[str] = (),
        remote_models: Iterable[str] = (),
    ) -> None:
        raw = parse_routes(models) if isinstance(models, str) else dict(models or {})
        self._backends: dict[str, Backend] = {}
        self.routes = {check_role(r.strip().lower()): self._register(m) for r, m in raw.items()}
        self.default = self._register(default) if default is not None else None
        self.escalate_to = self._register(escalate_to) if escalate_to is not None else None
        if not 0.0 <= escalate_below <= 1.0:
            raise ConfigError(f"escalate_below must be in [0, 1], got {escalate_below}")
        self.escalate_below = float(escalate_below)
        self.signal = make_signal(signal, samples=samples)
        self.escalate_roles = (
            None if escalate_roles is None else frozenset(check_role(r) for r in escalate_roles)
        )
        if keep_local is not None and keep_local not in KEEP_LOCAL:
            raise ConfigError(
                f"keep_local={keep_local!r} is not supported: use {' or '.join(KEEP_LOCAL)}"
            )
        self.keep_local = keep_local
        self.local_models = frozenset(local_models)
        self.remote_models = frozenset(remote_models)
        self._bound: weakref.WeakSet[Any] = weakref.WeakSet()

    def __getstate__(self) -> dict[str, Any]:
        # Dispatchers it was bound to stay behind (an executor in another process binds anew).
        return {**self.__dict__, "_bound": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._bound = weakref.WeakSet()

    @classmethod
    def from_options(
        cls,
        route: str | None = None,
        *,
        escalate_to: str | None = None,
        escalate_below: float | None = None,
        signal: str | None = None,
        samples: int | None = None,
        keep_local: str | None = None,
        local_models: Iterable[str] = (),
    ) -> Router | None:
        """The router command-line flags describe, or None when they ask for no routing."""
        local_models = tuple(local_models)
        if local_models and not keep_local:
            raise ConfigError(
                "--local-model says which models may see private text: it needs --keep-local"
            )
        if not (route or escalate_to or keep_local):
            if escalate_below is not None or signal is not None or samples is not None:
                raise ConfigError(
                    "--escalate-below/--escalate-signal/--escalate-samples need --escalate-to"
                )
            return None
        options: dict[str, Any] = {}
        if escalate_below is not None:
            options["escalate_below"] = escalate_below
        if signal is not None:
            options["signal"] = signal
        if samples is not None:
            options["samples"] = samples
        return cls(
            route,
            escalate_to=escalate_to,
            keep_local=keep_local,
            local_models=local_models,
            **options,
        )

    def _register(self, model: ModelSpec) -> str:
        key = _key(model)
        if not isinstance(model, str):
            self._backends[key] = model
        return key

    # -- model choice -------------------------------------------------------------------------
    def route(self, role: str) -> str | None:
        """The model string serving ``role`` (None: the dispatcher's default)."""
        return self.routes.get(role, self.default)

    def __call__(self, request: GenerationRequest) -> str | None:
        """The dispatcher's ``router`` protocol: a model string per request (by role)."""
        return self.route(request.role)

    def bind(self, dispatcher: Dispatcher) -> None:
        """Register the Backend objects this router names with ``dispatcher`` and resolve its
        model strings now, so a bad route fails before any work starts (idempotent)."""
        if dispatcher in self._bound:
            return
        for key, backend in self._backends.items():
            dispatcher.add_backend(key, backend, owned=False)
        for model in {*self.routes.values(), self.default, self.escalate_to}:
            if model is not None:
                dispatcher.backend(model)
        self._bound.add(dispatcher)

    def is_local(self, dispatcher: Dispatcher, model: str) -> bool:
        """Whether ``model`` may see private text: it runs in this process, or the user named
        it in ``local_models`` (a server on this machine, as ``MODEL@URL`` or as ``MODEL``)."""
        if model in self.local_models or split_endpoint(model)[0] in self.local_models:
            return True
        if model in self.remote_models or split_endpoint(model)[1] is not None:
            return False
        return dispatcher.backend(model).name in IN_PROCESS_BACKENDS

    def describe(self) -> dict[str, Any]:
        shown = redact_model
        return {
            "routes": {role: shown(model) for role, model in self.routes.items()},
            "default": shown(self.default) if self.default else None,
            "escalate_to": shown(self.escalate_to) if self.escalate_to else None,
            "escalate_below": self.escalate_below if self.escalate_to else None,
            "signal": self.signal.name if self.escalate_to else None,
            "keep_local": self.keep_local,
        }

    def redactor(self, context: str | None, public: Sequence[str] = ()) -> Redactor | None:
        """What to scrub from remote requests of a task with this context (None: nothing);
        ``public`` texts (the question, its choices) are never scrubbed for sharing words."""
        if self.keep_local != "context" or not context or not context.strip():
            return None
        return Redactor([context], public=public)

    # -- the call path ------------------------------------------------------------------------
    async def generate(
        self,
        dispatcher: Dispatcher,
        request: GenerationRequest,
        *,
        redactor: Redactor | None = None,
        log: RouteLog | None = None,
    ) -> Generation:
        """Serve ``request`` under this policy; raises what the dispatcher raises."""
        self.bind(dispatcher)
        log = log if log is not None else RouteLog()
        target = request.model or self.route(request.role) or dispatcher.default_model
        strong = self.escalate_to
        cascade = (
            strong is not None
            and request.model is None
            and target != strong
            and (self.escalate_roles is None or request.role in self.escalate_roles)
        )

        async def send(asked: GenerationRequest, model: str) -> Generation:
            asked = asked.model_copy(update={"model": model})
            if not self.is_local(dispatcher, model):
                log.remote_calls += 1
                if redactor is not None:
                    asked, withheld = redactor.request(asked)
                    log.withheld_passages += withheld
            return await dispatcher.generate(asked)

        if not cascade:
            return await send(request, target)
        assert strong is not None
        confidence: float | None = None
        cheap_calls: list[str] = []
        try:
            verdict = await self.signal.judge(lambda r: send(r, target), request)
        except SchemaError:
            reason = "schema"
        except BackendError:
            reason = "backend error"
        else:
            confidence, cheap_calls = verdict.confidence, verdict.calls
            if confidence is not None and confidence >= self.escalate_below:
                log.trusted += 1
                return verdict.generation
            reason = "low confidence" if confidence is not None else "no signal"
        # The strong call waits on the cheap one's verdict: a true dependency of the schedule.
        escalated = request.model_copy(
            update={"depends_on": tuple(dict.fromkeys((*request.depends_on, *cheap_calls)))}
        )
        record = Escalation(
            node_id=request.node_id,
            role=request.role,
            cheap_model=target,
            model=strong,
            reason=reason,
            confidence=confidence,
            cheap_calls=cheap_calls,
        )
        log.escalations.append(record)
        gen = await send(escalated, strong)
        record.call_id = gen.call_id
        return gen
