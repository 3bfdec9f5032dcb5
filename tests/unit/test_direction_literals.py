"""Issue #11: a call's direction is read through the domain's ``Direction`` (``vkyc/domain/direction.py``),
never compared as a string ("in", "out") elsewhere. Features added since (tickets, answer URLs, the call
list) slipped back into it once; this test is the grep of the issue's "done when", kept."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("vkyc", "functions", "media_node", "sdk", "local", "infra")
ALLOWED = {Path("vkyc/domain/direction.py")}
LITERALS = {"in", "out", "INBOUND", "OUTBOUND"}


def _literal(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and node.value in LITERALS


def direction_literals(tree: ast.AST) -> list[str]:
    """Comparisons (``x.direction == "out"``) and defaults (``call.get("direction") or "in"``) of a
    direction against a string."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
        elif isinstance(node, ast.BoolOp):
            sides = list(node.values)
        else:
            continue
        if any(_literal(side) for side in sides) and "direction" in ast.unparse(node).lower():
            found.append(ast.unparse(node))
    return found


def test_the_check_finds_the_forms_it_forbids():
    source = 'a = call.direction == "out"\nb = str(c.get("direction") or "in")\nc = mode == "in"\n'
    assert direction_literals(ast.parse(source)) == [
        "call.direction == 'out'",
        "c.get('direction') or 'in'",
    ]


def test_no_direction_is_compared_as_a_string_outside_the_domains_direction():
    offenders = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if relative in ALLOWED or "vendor" in relative.parts:
                continue
            found = direction_literals(ast.parse(path.read_text(encoding="utf-8")))
            if found:
                offenders[str(relative)] = found
    assert offenders == {}
