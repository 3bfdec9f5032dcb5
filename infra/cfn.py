"""Small helpers to write CloudFormation as Python data, and to rename logical ids in a template."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

Json = Any

_SUB_NAME = re.compile(r"\$\{([A-Za-z0-9_:]+)(\.[A-Za-z0-9_.]+)?\}")


def ref(name: str) -> dict[str, str]:
    return {"Ref": name}


def get_att(name: str, attribute: str) -> dict[str, list[str]]:
    return {"Fn::GetAtt": [name, attribute]}


def sub(text: str, variables: Mapping[str, Json] | None = None) -> dict[str, Json]:
    return {"Fn::Sub": [text, dict(variables)] if variables else text}


def pascal(text: str) -> str:
    """``timers-dlq`` -> ``TimersDlq``, ``dossier_log`` -> ``DossierLog``."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", text) if part)


def rename(node: Json, new_name: Callable[[str], str | None]) -> Json:
    """A copy of ``node`` where every reference to a logical id (``Ref``, ``Fn::GetAtt``, ``${Name}`` and
    ``${Name.Attr}`` in ``Fn::Sub``, ``DependsOn``) is renamed by ``new_name`` (None: unchanged).
    Pseudo parameters and a ``Fn::Sub``'s own variables are never renamed."""
    if isinstance(node, list):
        return [rename(item, new_name) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Json] = {}
    for key, value in node.items():
        if key == "Ref" and isinstance(value, str):
            out[key] = _renamed(value, new_name)
        elif key == "Fn::GetAtt" and isinstance(value, list) and value:
            out[key] = [_renamed(value[0], new_name), *value[1:]]
        elif key == "Fn::Sub":
            out[key] = _rename_sub(value, new_name)
        elif key == "DependsOn":
            names = [value] if isinstance(value, str) else value
            renamed = [_renamed(n, new_name) for n in names]
            out[key] = renamed[0] if isinstance(value, str) else renamed
        else:
            out[key] = rename(value, new_name)
    return out


def _renamed(name: str, new_name: Callable[[str], str | None]) -> str:
    if name.startswith("AWS::"):
        return name
    return new_name(name) or name


def _rename_sub(value: Json, new_name: Callable[[str], str | None]) -> Json:
    text, variables = (value[0], value[1]) if isinstance(value, list) else (value, {})
    local = set(variables)

    def replace(match: re.Match[str]) -> str:
        name, attribute = match.group(1), match.group(2) or ""
        if name in local or name.startswith("AWS::"):
            return match.group(0)
        return "${" + (new_name(name) or name) + attribute + "}"

    renamed_text = _SUB_NAME.sub(replace, text)
    if isinstance(value, list):
        return [renamed_text, {k: rename(v, new_name) for k, v in variables.items()}]
    return renamed_text


def referenced_names(node: Json) -> set[str]:
    """Every logical id or parameter ``node`` refers to (``Ref``, ``Fn::GetAtt``, ``Fn::Sub``); pseudo
    parameters (``AWS::Region``...) left out."""
    found: set[str] = set()

    def collect(name: str) -> str | None:
        found.add(name)
        return None

    rename(node, collect)
    return found
