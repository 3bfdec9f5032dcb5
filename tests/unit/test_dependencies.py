"""Dependencies: the lock files (``requirements/*.txt``, made by ``make lock``) agree with
``pyproject.toml``, with each other and with what is installed; each deployable's extra covers what its
code imports; the wheel ships only the deployable packages.

Each lock pins, with hashes, exactly the packages its extra needs on this platform: the extra's
requirements in ``pyproject.toml`` and, from the installed metadata of each, what they require in turn.
A requirement added to or dropped from ``pyproject.toml`` without ``make lock`` fails here. The media
node's extra is also proven in a clean venv (``tests/integration/test_media_node_image.py``).
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from setuptools import find_namespace_packages

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
# lock file → the extra of vkyc it locks
LOCKS = {"dev.txt": "dev", "media-node.txt": "media-node", "functions.txt": "functions"}
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)(?:\s*;\s*([^\\]+?))?\s*\\?$")


@dataclass(frozen=True)
class Pin:
    version: str
    hashes: int
    here: bool  # its marker holds on this platform (a universal lock also holds other platforms' packages)


def read_lock(name: str) -> dict[str, Pin]:
    pins: dict[str, Pin] = {}
    current: str | None = None
    for line in (ROOT / "requirements" / name).read_text().splitlines():
        match = _PIN.match(line)
        if match:
            package, version, marker = match.groups()
            current = canonicalize_name(package)
            here = marker is None or Marker(marker).evaluate()
            pins[current] = Pin(version, 0, here)
        elif line.strip().startswith("--hash=sha256:") and current is not None:
            pin = pins[current]
            pins[current] = Pin(pin.version, pin.hashes + 1, pin.here)
    return pins


def extra_requirements(extra: str) -> list[Requirement]:
    """vkyc's own requirements with ``extra``: the base list, the extra's, and the extras it names."""
    wanted, done, found = [extra], set(), [Requirement(r) for r in PYPROJECT["project"]["dependencies"]]
    while wanted:
        name = wanted.pop()
        if name in done:
            continue
        done.add(name)
        for text in PYPROJECT["project"]["optional-dependencies"][name]:
            requirement = Requirement(text)
            if canonicalize_name(requirement.name) == "vkyc":
                wanted.extend(requirement.extras)
            else:
                found.append(requirement)
    return found


def closure(extra: str) -> set[str]:
    """Every distribution ``extra`` needs here: its requirements, then theirs from installed metadata."""
    extras_of: dict[str, set[str]] = {}
    # (distribution, extras asked of it): markers are evaluated before a requirement goes in
    pending = [
        (canonicalize_name(r.name), set(r.extras))
        for r in extra_requirements(extra)
        if r.marker is None or r.marker.evaluate({"extra": ""})
    ]
    while pending:
        name, extras = pending.pop()
        if name in extras_of and extras <= extras_of[name]:
            continue
        asked = extras_of.setdefault(name, set())
        asked.update(extras)
        try:
            requires = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:  # not installed: then surely not locked either
            continue
        for text in requires:
            dependency = Requirement(text)
            if dependency.marker is None or any(
                dependency.marker.evaluate({"extra": e}) for e in (asked or {""})
            ):
                pending.append((canonicalize_name(dependency.name), set(dependency.extras)))
    return set(extras_of)


@pytest.mark.parametrize(("lock", "extra"), LOCKS.items())
def test_each_lock_pins_exactly_what_its_extra_needs(lock, extra):
    locked = {name for name, pin in read_lock(lock).items() if pin.here}
    needed = closure(extra)
    assert not needed - locked, f"{lock} misses {sorted(needed - locked)}: run `make lock`"
    assert not locked - needed, f"{lock} pins {sorted(locked - needed)}, which nothing needs: run `make lock`"


@pytest.mark.parametrize("lock", LOCKS)
def test_every_pin_has_its_hashes(lock):
    unhashed = [name for name, pin in read_lock(lock).items() if pin.hashes == 0]
    assert not unhashed


@pytest.mark.parametrize("lock", [name for name in LOCKS if name != "dev.txt"])
def test_the_deployables_locks_hold_devs_versions(lock):
    dev = read_lock("dev.txt")
    differ = {
        n: (p.version, dev[n].version) for n, p in read_lock(lock).items() if p.version != dev[n].version
    }
    assert not differ, f"{lock} vs dev.txt: {differ}: run `make lock`"


def test_the_installed_packages_are_the_locked_versions():
    stale = {}
    for name, pin in read_lock("dev.txt").items():
        if pin.here:
            installed = importlib.metadata.version(name)
            if installed != pin.version:
                stale[name] = (installed, pin.version)
    assert not stale, f"installed vs locked: {stale}: run `make install`"


@pytest.mark.parametrize("extra", sorted(PYPROJECT["project"]["optional-dependencies"]))
def test_every_locked_version_satisfies_pyproject(extra):
    dev = read_lock("dev.txt")
    for requirement in extra_requirements(extra):
        pin = dev.get(canonicalize_name(requirement.name))
        assert pin is not None, f"{requirement.name} is not locked: run `make lock`"
        assert requirement.specifier.contains(pin.version, prereleases=True), f"{requirement}: {pin.version}"


def test_the_build_backend_is_the_locked_setuptools():
    # `make install` builds the project without build isolation, with the setuptools the lock installed.
    assert PYPROJECT["build-system"]["requires"] == [
        f"setuptools=={read_lock('dev.txt')['setuptools'].version}"
    ]


def test_the_wheel_ships_vkyc_the_sdk_and_the_media_node_only():
    # What setuptools finds with pyproject.toml's [tool.setuptools.packages.find] (namespaces: its default).
    found = find_namespace_packages(where=str(ROOT), **PYPROJECT["tool"]["setuptools"]["packages"]["find"])
    assert {name.split(".")[0] for name in found} == {"vkyc", "sdk", "media_node"}
    assert {"vkyc.repositories", "sdk", "media_node"} <= set(found)


# -- what each deployable imports ----------------------------------------------------------------------
# Our code that deploys (the wheel's packages and the functions); local/, bench/, infra/ and tests/ never do.
DEPLOYED = {"vkyc", "sdk", "media_node", "functions"}
# extra → (the modules its deployable runs, imports that may stay unmet: why)
DEPLOYABLES: dict[str, tuple[list[str], dict[str, str]]] = {
    "functions": (
        [
            "functions.signaling.app",
            "functions.routing.app",
            "functions.reports.app",
            "functions.integrations.app",
        ],
        {"chalice": "Chalice's packaging puts its runtime into each function"},
    ),
    "sdk": (["sdk", "sdk.__main__", "sdk.cli"], {}),
    "sdk-media": (["sdk.media"], {"skimage": "FaceVideo only; documented in sdk/media.py"}),
    "media-node": (
        [f"media_node.{p.stem}" for p in (ROOT / "media_node").glob("*.py") if p.stem != "__init__"],
        {},
    ),
}


def _module_file(module: str) -> Path | None:
    base = ROOT.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at its top or inside functions, but not under ``TYPE_CHECKING``."""
    found: set[str] = set()
    pending: list[ast.AST] = [ast.parse(path.read_text())]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            pending.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0 and node.module, f"{path}: relative import"
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)  # submodules, if they are
        pending.extend(ast.iter_child_nodes(node))
    return found


def third_party_imports(modules: list[str]) -> dict[str, str]:
    """Top-level names of the third-party modules that ``modules`` import, directly or through our own
    modules (and the packages above each), with one of our files that imports each."""
    seen: set[str] = set()
    found: dict[str, str] = {}
    pending = list(modules)
    while pending:
        module = pending.pop()
        parts = module.split(".")
        if parts[0] not in DEPLOYED:
            if parts[0] not in sys.stdlib_module_names:
                found.setdefault(parts[0], module)
            continue
        for depth in range(1, len(parts) + 1):  # importing a.b.c runs a/__init__ and a/b/__init__ first
            name = ".".join(parts[:depth])
            path = _module_file(name)
            if name in seen or path is None:
                continue
            seen.add(name)
            for imported in _imports(path):
                top = imported.split(".")[0]
                pending.append(imported)
                if top not in DEPLOYED and top not in sys.stdlib_module_names:
                    found.setdefault(top, str(path.relative_to(ROOT)))
    return found


@pytest.mark.parametrize("extra", DEPLOYABLES)
def test_each_deployables_extra_provides_every_library_its_code_imports(extra):
    modules, may_miss = DEPLOYABLES[extra]
    provided = closure(extra)
    distributions = importlib.metadata.packages_distributions()
    unmet = {
        name: where
        for name, where in third_party_imports(modules).items()
        if name not in may_miss and not {canonicalize_name(d) for d in distributions.get(name, [])} & provided
    }
    assert not unmet, f"[{extra}] does not provide what these import: {unmet}"


def test_no_deployable_imports_the_local_stack_or_the_benchmarks():
    for extra, (modules, _) in DEPLOYABLES.items():
        for name, where in third_party_imports(modules).items():
            assert name not in {"local", "bench", "tests", "infra"}, f"[{extra}] {where} imports {name}"


def test_no_benchmark_imports_the_tests():
    # A benchmark runs from a checkout as `python bench/x.py` or `python -m bench.x`; what it drives
    # (clients, receivers, drivers) lives in bench/, and tests import it from there, never the reverse.
    offenders = {
        str(path.relative_to(ROOT)): sorted(name for name in _imports(path) if name.split(".")[0] == "tests")
        for path in (ROOT / "bench").rglob("*.py")
    }
    assert {where: names for where, names in offenders.items() if names} == {}
