"""Endpoints of a fleet: several replicas serving one model, and the fleet file that lists them.

A replica is an OpenAI-compatible server (vLLM, SGLang, llama-server, an API deployment in one
region). Each has its own concurrency and rate limits, because each is its own server: the
fleet's capacity is the sum of theirs. ``max_concurrency`` should be the replica's batch size
(vLLM ``--max-num-seqs``, llama-server ``--parallel``): calls beyond it wait in agot's queue,
where the router can still order them by urgency, instead of in the server's.

The fleet file is JSON or TOML::

    model = "openai/my-model"        # optional: --model wins
    replica_policy = "predictive"    # optional: --replica-policy wins ("routing", its old name)
    [[endpoints]]
    api_base = "http://10.0.0.1:8000/v1"
    max_concurrency = 16
    [[endpoints]]
    api_base = "http://10.0.0.2:8000/v1"
    weight = 2.0                     # twice the hardware: round-robin sends it twice the calls
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from agot.config import Settings
from agot.endpoints import check_endpoint
from agot.errors import ConfigError
from agot.fleet.policies import renamed_routing
from agot.limits import Limits

#: A fleet file is a few lines per replica; anything larger is the wrong file.
MAX_FLEET_BYTES = 1 << 20
#: Calls one replica may have in flight: far above any server's batch size, far below what
#: would make a semaphore or a slot table a memory problem.
MAX_CONCURRENCY = 100_000

RoutingName = Literal["round-robin", "least-outstanding", "predictive"]
ROUTING_NAMES: tuple[str, ...] = ("round-robin", "least-outstanding", "predictive")


class Endpoint(Settings):
    """One replica: its address, a relative weight, and its own limits (None: the run's)."""

    api_base: str
    #: How traces and summaries name it (default: host:port of ``api_base``).
    name: str | None = None
    #: Relative capacity: round-robin and least-outstanding share calls by it, and predictive
    #: starts from a speed prior scaled by it until it has measured the replica.
    weight: float = Field(1.0, gt=0, le=1e6)
    max_concurrency: int | None = Field(None, ge=1, le=MAX_CONCURRENCY)
    requests_per_minute: float | None = Field(None, gt=0, allow_inf_nan=False)
    tokens_per_minute: float | None = Field(None, gt=0, allow_inf_nan=False)

    @field_validator("api_base")
    @classmethod
    def _url(cls, value: str) -> str:
        return check_endpoint(value, what="endpoint api_base")

    @property
    def label(self) -> str:
        """The name used in traces: ``name`` or host:port (never credentials or the path)."""
        if self.name:
            return self.name
        parts = urlsplit(self.api_base)
        return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)

    def limits(self, base: Limits) -> Limits:
        """``base`` with this endpoint's own concurrency and rate limits laid over it."""
        own = {
            k: v
            for k, v in {
                "max_concurrency": self.max_concurrency,
                "requests_per_minute": self.requests_per_minute,
                "tokens_per_minute": self.tokens_per_minute,
            }.items()
            if v is not None
        }
        return base.model_copy(update=own) if own else base


class FleetSpec(Settings):
    """What a fleet file holds."""

    model: str | None = None
    #: Which replica serves each call (:mod:`agot.fleet.policies`); ``routing`` is its old name.
    replica_policy: RoutingName | None = None
    endpoints: list[Endpoint] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _old_names(cls, data: Any) -> Any:
        return renamed_routing(data)

    @property
    def routing(self) -> RoutingName | None:
        """The old name of :attr:`replica_policy`."""
        return self.replica_policy


EndpointLike = str | Endpoint | Mapping[str, Any]


def parse_endpoints(value: str | Sequence[EndpointLike]) -> list[Endpoint]:
    """Endpoints from ``"URL1,URL2"``, a list of URLs, dicts or :class:`Endpoint` objects.

    Labels must be unique, since traces and summaries tell replicas apart by them.
    """
    items: Sequence[EndpointLike]
    items = [u for u in value.split(",") if u.strip()] if isinstance(value, str) else value
    out: list[Endpoint] = []
    for item in items:
        if isinstance(item, Endpoint):
            out.append(item)
        elif isinstance(item, str):
            out.append(Endpoint(api_base=item))
        elif isinstance(item, Mapping):
            out.append(Endpoint(**dict(item)))
        else:
            raise ConfigError(
                f"an endpoint must be a URL, a mapping or an Endpoint, got {type(item).__name__}"
            )
    if not out:
        raise ConfigError("a fleet needs at least one endpoint URL")
    labels = [e.label for e in out]
    dupes = sorted({x for x in labels if labels.count(x) > 1})
    if dupes:
        raise ConfigError(
            f"endpoints must differ: {', '.join(dupes)} listed more than once (give each a "
            "distinct api_base or name)"
        )
    return out


def load_fleet(path: str | os.PathLike[str]) -> FleetSpec:
    """Read a fleet file (``.json`` or ``.toml``); every problem is a ConfigError."""
    file = Path(path)
    try:
        if file.is_dir():
            raise ConfigError(f"fleet file {file} is a folder")
        if file.exists() and not file.is_file():  # a FIFO or device would block or never end
            raise ConfigError(f"fleet file {file} is not a regular file")
        raw = file.read_bytes()[: MAX_FLEET_BYTES + 1]
    except OSError as exc:
        raise ConfigError(f"cannot read fleet file {file}: {exc.strerror or exc}") from None
    if len(raw) > MAX_FLEET_BYTES:
        raise ConfigError(f"fleet file {file} is over {MAX_FLEET_BYTES // 1024} KiB: not a fleet")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"fleet file {file} is not UTF-8 text (byte {exc.start}): save it as UTF-8"
        ) from None
    kind = "TOML" if file.suffix.lower() == ".toml" else "JSON"
    try:
        data = tomllib.loads(text) if kind == "TOML" else json.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"fleet file {file} is not valid {kind}: {exc}") from None
    except RecursionError:
        raise ConfigError(f"fleet file {file} is nested too deeply to be a fleet") from None
    if not isinstance(data, dict):
        raise ConfigError(f"fleet file {file} must hold an object with an 'endpoints' list")
    spec = FleetSpec(**data)
    parse_endpoints(spec.endpoints)  # unique labels
    return spec
