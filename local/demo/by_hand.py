"""What ``make up`` prints so that anyone can place a call by hand: for each demo dossier, the dealer
account and the exact ``python -m sdk mobile --call`` command (the unit's demo API key, the stack's
REST address), with a word on whether the dossier may be called at all."""

from __future__ import annotations

import shlex

from local.demo.schema import DemoData

CALLABLE_STATES = frozenset({"N", "W", "D"})  # vkyc.domain.eligibility: A, C and counter KYC are refused


def mobile_commands(data: DemoData, rest_url: str, python: str = ".venv/bin/python") -> str:
    """The block of text: one entry per dossier of a unit that has a demo API key."""
    keys = {k.unit: k.key for k in data.api_keys}
    lines = [
        "Place a call by hand (the mobile side: a face on camera; --camera blank or a video file;",
        "--answer-callbacks stays to answer call-backs). Log in on the agent page first:",
    ]
    for dossier in data.dossiers:
        key = keys.get(dossier.unit)
        if key is None:
            continue
        state = dossier.state.value
        callable_now = state in CALLABLE_STATES and not dossier.counter_kyc_required
        why = "can be called" if callable_now else f"state {state}: refused, to see the error"
        if dossier.counter_kyc_required:
            why = "counter KYC required: refused, to see the error"
        command = [
            python, "-m", "sdk", "mobile", "--call", "--answer-callbacks",
            "--rest", rest_url, "--api-key", key, "--dealer", dossier.dealer_account, "--dossier", dossier.id,
        ]  # fmt: skip
        lines.append(f"  {dossier.id}  unit {dossier.unit}, dealer {dossier.dealer_account} ({why}):")
        lines.append("    " + shlex.join(command))
    return "\n".join(lines)
