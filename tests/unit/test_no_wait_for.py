"""No product code waits through ``asyncio.wait_for``. On Python 3.11 (our runtime), ``wait_for``
returns the awaited result when its task is cancelled in the same turn of the loop as the result
arrives: the cancellation is swallowed. That made ``python -m sdk mobile`` ignore a Ctrl-C (ci39).
Code waits through ``asyncio.timeout`` (or ``sdk.client.wait_event``) instead; this is the grep, kept."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("vkyc", "functions", "media_node", "sdk", "local", "infra", "bench")


def wait_for_calls(tree: ast.AST) -> list[str]:
    """``asyncio.wait_for(...)`` calls, and ``wait_for`` imported from asyncio."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "asyncio":
            found += [f"from asyncio import {a.name}" for a in node.names if a.name == "wait_for"]
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "wait_for"
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "asyncio"
        ):
            found.append(ast.unparse(node.func))
    return found


def test_the_check_finds_the_forms_it_forbids():
    source = (
        "from asyncio import wait_for, sleep\n"
        "async def f(e):\n"
        "    await asyncio.wait_for(e.wait(), 1)\n"
        "    with condition: condition.wait_for(lambda: True)\n"  # threading's: allowed
    )
    assert wait_for_calls(ast.parse(source)) == ["from asyncio import wait_for", "asyncio.wait_for"]


def test_no_product_code_waits_through_asyncio_wait_for():
    offenders = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if "vendor" in relative.parts:
                continue
            found = wait_for_calls(ast.parse(path.read_text(encoding="utf-8")))
            if found:
                offenders[str(relative)] = found
    assert offenders == {}
