"""Route specifications: which model serves which step, written ``ROLE=MODEL[@URL],...``.

A route names a model string (anything the registry resolves: ``local``, ``openai/gpt-4o``,
``hosted_vllm/qwen``) and optionally the endpoint that serves it (``MODEL@http://host/v1``), so
one run can use the embedded model for cheap steps and a remote server for hard ones. Roles are
the step tags of :data:`agot.types.ROLES` (the AGoT steps plus ``judge`` and the baselines').
"""

from __future__ import annotations

from agot.backends.registry import parse_model_string, split_endpoint
from agot.errors import ConfigError
from agot.types import ROLES
from agot.url_secrets import redact_model

#: Registry prefixes whose backends run inside this process: nothing they see leaves it.
IN_PROCESS_PREFIXES = frozenset({"local", "llamacpp", "transformers", "scripted"})


def parse_routes(spec: str | None, *, what: str = "route") -> dict[str, str]:
    """``"assess=local,solve=local,final=openai/gpt-4o"`` -> ``{"assess": "local", ...}``.

    Raises ConfigError naming the entry at fault: a missing ``=``, an unknown role, a role given
    twice, an empty model, or an endpoint that is not an http(s) URL.
    """
    routes: dict[str, str] = {}
    if spec is None or not spec.strip():
        return routes
    for entry in spec.split(","):
        entry = entry.strip()
        if not entry:
            continue
        role, sep, model = entry.partition("=")
        role, model = role.strip().lower(), model.strip()
        if not sep or not role:
            raise ConfigError(
                f"{what} {redact_model(entry)!r} is not ROLE=MODEL (e.g. "
                "assess=local,final=openai/gpt-4o)"
            )
        check_role(role)
        if role in routes:
            raise ConfigError(
                f"{what}: role {role!r} given twice ({redact_model(routes[role])!r}, "
                f"{redact_model(model)!r})"
            )
        routes[role] = check_model(model, what=f"{what} {role}=")
    return routes


def check_role(role: str) -> str:
    if role not in ROLES:
        raise ConfigError(f"unknown role {role!r} in a route: choose from {', '.join(ROLES)}")
    return role


def check_model(model: str, *, what: str = "model") -> str:
    """Validate ``MODEL[@URL]`` (the model part as the registry reads it); returns it stripped."""
    model = model.strip()
    if not model:
        raise ConfigError(f"{what}: the model is empty (write ROLE=MODEL or ROLE=MODEL@URL)")
    name, _ = split_endpoint(model, what=what)
    parse_model_string(name)
    return model


def is_in_process(model: str) -> bool:
    """True when ``model`` runs in this process (embedded llama.cpp, transformers, scripted)."""
    name, endpoint = split_endpoint(model)
    if endpoint is not None:
        return False
    prefix, _ = parse_model_string(name)
    return prefix in IN_PROCESS_PREFIXES
