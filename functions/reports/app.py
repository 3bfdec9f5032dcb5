"""Reports, admin and integrator REST API.

So far: ``GET /health`` and ``GET /units`` (the units with their serving map). Monitors, reports
and call lookup arrive with the later issues.
"""

from __future__ import annotations

from typing import Any

from chalice import Chalice

from vkyc.repositories import units

app = Chalice(app_name="vkyc-reports")


@app.route("/health")
def health() -> dict[str, Any]:
    return {"status": "ok"}


@app.route("/units")
def list_units() -> dict[str, Any]:
    return {"units": [u.as_dict() for u in units.list_units()]}
