"""The processing options of this deployment (openEO's Processing Parameters extension): what
``GET /processing_parameters`` lists and the check of the options a request sends.

A request names them at the top level of its body (``POST /result``, ``POST /jobs``,
``PATCH /jobs/{id}``), as the extension asks: ``placement``, ``workers`` and the core
``log_level``. In API 1.3 (which declares the extension) anything else beside the core fields
is refused, so a misspelt option is never silently ignored; 1.2 clients may send other
back-end specific properties, as they always could, and those are ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from openeo_dedl.config import Settings
from openeo_dedl.errors import ProcessingParameterInvalid
from openeo_dedl.planning.options import AUTO, COST, LOG_LEVELS, SINGLE_SITE, RunOptions

# The core fields of each request body (openEO API 1.2/1.3); the rest must be our options.
CORE_FIELDS = {
    "sync": {"process", "budget", "plan", "log_level", "title", "description"},
    "job": {"process", "budget", "plan", "log_level", "title", "description"},
}
OPTION_NAMES = ("placement", "workers", "log_level")


def processing_parameters(settings: Settings, user_id: str | None = None) -> dict[str, Any]:
    """``GET /processing_parameters``: the options of synchronous runs and batch jobs (the
    ``workers`` bound is ``user_id``'s own when signed in)."""
    params = _parameters(settings, settings.processing.max_workers(user_id))
    return {
        "create_synchronous_parameters": params,
        "create_job_parameters": params,
        "create_service_parameters": [],
    }


def _parameters(settings: Settings, max_workers: int) -> list[dict[str, Any]]:
    sites = [s.name for s in settings.sites]
    placements = [AUTO, COST, *(f"{SINGLE_SITE}{s}" for s in sites)]
    return [
        {
            "name": "placement",
            "description": (
                "Where the planner places the work. `auto`: the cheapest (fewest bytes crossing "
                "sites) of the cost-based plan and every single-site plan; `cost`: the "
                "cost-based plan; `single-site:<S>`: everything at site S, but the loads of "
                "data S does not hold."
            ),
            "optional": True,
            "default": AUTO,
            "schema": {"type": "string", "enum": placements},
        },
        {
            "name": "workers",
            "description": (
                "Dask workers of a site's cluster for this run, per site id (as in "
                "`federation` of `GET /`); sites not named keep their configured size. "
                f"At most {max_workers} per site."
            ),
            "optional": True,
            "default": {},
            "schema": {
                "type": "object",
                "propertyNames": {"enum": sites},
                "additionalProperties": {"type": "integer", "minimum": 1, "maximum": max_workers},
            },
        },
        {
            "name": "log_level",
            "description": "The least severe level of the log entries kept for the run.",
            "optional": True,
            "default": "info",
            "schema": {"type": "string", "enum": list(LOG_LEVELS)},
        },
    ]


def run_options(
    body: Mapping[str, Any],
    kind: str,
    settings: Settings,
    user_id: str | None,
    strict: bool = True,
) -> RunOptions:
    """The checked options of a request ``body`` (``kind`` ``sync`` or ``job``);
    ProcessingParameterInvalid for a value out of range, and (``strict``) for an unknown
    property."""
    unknown = sorted(set(body) - CORE_FIELDS[kind] - set(OPTION_NAMES))
    if unknown and strict:
        raise ProcessingParameterInvalid(
            f"Unknown processing parameter(s) {', '.join(map(repr, unknown))}: see GET "
            f"/processing_parameters for {', '.join(OPTION_NAMES)}."
        )
    sites = [s.name for s in settings.sites]
    placement = body.get("placement")
    if placement is None:
        placement = AUTO
    allowed = (AUTO, COST, *(f"{SINGLE_SITE}{s}" for s in sites))
    if placement not in allowed:
        raise ProcessingParameterInvalid(
            f"Processing parameter 'placement' must be one of {', '.join(allowed)}: "
            f"got {_shown(placement)}."
        )
    log_level = body.get("log_level")
    if log_level is None:
        log_level = "info"
    if log_level not in LOG_LEVELS:
        raise ProcessingParameterInvalid(
            f"Processing parameter 'log_level' must be one of {', '.join(LOG_LEVELS)}: "
            f"got {_shown(log_level)}."
        )
    workers = _workers(body.get("workers"), sites, settings.processing.max_workers(user_id))
    return RunOptions(placement=placement, workers=workers, log_level=log_level)


def _workers(raw: Any, sites: list[str], bound: int) -> dict[str, int]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ProcessingParameterInvalid(
            "Processing parameter 'workers' must be an object of site ids to numbers of "
            f"workers: got {_shown(raw)}."
        )
    out: dict[str, int] = {}
    for site, n in raw.items():
        if site not in sites:
            raise ProcessingParameterInvalid(
                f"Processing parameter 'workers' names unknown site {_shown(site)} "
                f"(sites: {', '.join(sites)})."
            )
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= bound:
            raise ProcessingParameterInvalid(
                f"Processing parameter 'workers' of site '{site}' must be an integer from 1 "
                f"to {bound} (your limit per site): got {_shown(n)}."
            )
        out[site] = n
    return out


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
