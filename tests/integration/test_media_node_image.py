"""The media node's container image, without a Docker engine: ``infra/media_node/Dockerfile``'s steps
replayed in a clean venv, then its entry point run from there.

The replay copies what the ``COPY`` lines copy into a scratch file system, creates a venv with nothing
in it, runs each ``RUN pip install ...`` with that venv's interpreter and each ``RUN python ...`` with
it, in the ``WORKDIR`` of the step; ``useradd`` is the only other step, and is skipped. Any other
instruction or command fails the replay: teach it here rather than let the image drift from what is
tested. The one difference from a build: ``PIP_NO_CACHE_DIR`` is not applied, so that the wheels pip
already cached are reused.

This proves the ``[media-node]`` extra as the image installs it (from ``requirements/media-node.txt``):
the node's entry point and every module of it import from the installed package, with no dev-only
package (moto, chalice, PynamoDB, playwright, pytest) in the venv.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "infra" / "media_node" / "Dockerfile"
LOCK = ROOT / "requirements" / "media-node.txt"
# The install takes a minute or more on a cold pip cache.
pytestmark = pytest.mark.timeout(900)


@dataclass
class Image:
    python: Path  # the venv's interpreter: the image's `python`
    workdir: Path  # the last WORKDIR: where the entry point runs
    env: dict[str, str]
    command: list[str]  # ENTRYPOINT + CMD, `python` being the venv's
    seconds: float  # how long the replay took

    def run(self, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        argv = tuple(str(self.python) if a == "python" else a for a in argv)
        return subprocess.run(
            argv, cwd=self.workdir, env=self.env, capture_output=True, text=True, timeout=timeout
        )

    def site_packages(self) -> Path:
        found = self.run("python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])")
        return Path(found.stdout.strip())


def instructions(dockerfile: Path) -> Iterator[tuple[str, str]]:
    """(INSTRUCTION, arguments) for each instruction, continuation lines joined, comments dropped."""
    text = re.sub(r"^\s*#.*\n", "", dockerfile.read_text(), flags=re.MULTILINE)
    for line in re.sub(r"\\\n", " ", text).splitlines():
        if line.strip():
            instruction, _, arguments = line.strip().partition(" ")
            yield instruction.upper(), arguments.strip()


def _clean_env() -> dict[str, str]:
    # Nothing of the source tree or the test venv may leak into the image's interpreter.
    return {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"}}


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Image:
    started = time.monotonic()
    scratch = tmp_path_factory.mktemp("media-node-image")
    filesystem = scratch / "fs"  # the image's "/"
    venv = scratch / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    workdir = filesystem
    env = _clean_env()
    command: dict[str, list[str]] = {}

    def run_step(argv: list[str]) -> None:
        if argv[:2] == ["pip", "install"]:
            # This venv has no pip of its own: the test venv's pip installs into it.
            full = [sys.executable, "-m", "pip", "--python", str(python), *argv[1:]]
            step_env = {k: v for k, v in env.items() if k != "PIP_NO_CACHE_DIR"}
        elif argv[0] == "python":
            full, step_env = [str(python), *argv[1:]], env
        elif argv[0] == "useradd":
            return
        else:
            pytest.fail(
                f"the replay does not know the step {shlex.join(argv)!r}: teach it, or keep to its forms"
            )
        done = subprocess.run(full, cwd=workdir, env=step_env, capture_output=True, text=True, timeout=840)
        assert done.returncode == 0, f"{shlex.join(argv)} failed:\n{done.stdout}\n{done.stderr}"

    for instruction, arguments in instructions(DOCKERFILE):
        if instruction == "WORKDIR":
            workdir = filesystem / arguments.lstrip("/")
            workdir.mkdir(parents=True, exist_ok=True)
        elif instruction == "COPY":
            *sources, destination = shlex.split(arguments)
            target = workdir / destination
            for source in sources:
                origin = ROOT / source
                into = target / origin.name if destination.endswith("/") and origin.is_file() else target
                if origin.is_dir():
                    shutil.copytree(origin, into, ignore=shutil.ignore_patterns("__pycache__"))
                else:
                    into.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(origin, into)
        elif instruction == "ENV":
            env.update(pair.split("=", 1) for pair in shlex.split(arguments))  # type: ignore[misc]
        elif instruction == "RUN":
            run_step(shlex.split(arguments))
        elif instruction in {"ENTRYPOINT", "CMD"}:
            command[instruction] = json.loads(arguments)
        elif instruction not in {"FROM", "USER", "STOPSIGNAL"}:
            pytest.fail(f"the replay does not know {instruction}: teach it")
    entry = [*command.get("ENTRYPOINT", []), *command.get("CMD", [])]
    return Image(python, workdir, env, entry, time.monotonic() - started)


def test_the_images_entry_point_runs_the_node_from_the_installed_package(image: Image) -> None:
    assert image.command[:3] == ["python", "-m", "media_node"]
    helped = image.run(*image.command[:3], "--help")
    assert helped.returncode == 0, helped.stderr
    for command in ("run", "serve", "verify", "recover"):
        assert command in helped.stdout
    where = image.run("python", "-c", "import media_node; print(media_node.__file__)")
    assert Path(where.stdout.strip()).is_relative_to(image.site_packages()), where.stdout
    print(f"media node image replayed in a clean venv in {image.seconds:.1f} s")


def test_every_module_of_the_node_imports_in_the_image(image: Image) -> None:
    modules = sorted(f"media_node.{p.stem}" for p in (ROOT / "media_node").glob("*.py"))
    script = f"import importlib\nfor module in {modules!r}:\n    importlib.import_module(module)"
    imported = image.run("python", "-c", script)
    assert imported.returncode == 0, imported.stderr


def locked_here(lock: Path) -> set[str]:
    """The distributions ``lock`` pins whose marker holds on this platform."""
    names = set()
    for line in lock.read_text().splitlines():
        if re.match(r"^[A-Za-z0-9]", line):
            requirement = Requirement(line.rstrip(" \\"))
            if requirement.marker is None or requirement.marker.evaluate():
                names.add(canonicalize_name(requirement.name))
    return names


def test_the_image_holds_the_locked_extra_and_nothing_else(image: Image) -> None:
    script = "import importlib.metadata as m, json; print(json.dumps([d.name for d in m.distributions()]))"
    installed = {canonicalize_name(name) for name in json.loads(image.run("python", "-c", script).stdout)}
    assert installed == locked_here(LOCK) | {"vkyc"}
    assert not installed & {"moto", "chalice", "pynamodb", "playwright", "pytest", "localstack-client"}


def test_the_installed_package_meets_its_media_node_extra(image: Image) -> None:
    script = (
        "import importlib.metadata as m, json; "
        "print(json.dumps([m.requires('vkyc'), {d.name.lower(): d.version for d in m.distributions()}]))"
    )
    requires, versions = json.loads(image.run("python", "-c", script).stdout)
    versions = {canonicalize_name(name): version for name, version in versions.items()}
    wanted = {"media-node"}
    requirements = [Requirement(text) for text in requires]
    for requirement in requirements:  # vkyc[sdk] inside [media-node]: its requirements count too
        marker = requirement.marker
        if canonicalize_name(requirement.name) == "vkyc" and marker is not None:
            wanted |= set(requirement.extras) if any(marker.evaluate({"extra": e}) for e in wanted) else set()
    for requirement in requirements:
        if canonicalize_name(requirement.name) == "vkyc":
            continue
        if requirement.marker is None or any(requirement.marker.evaluate({"extra": e}) for e in wanted):
            version = versions.get(canonicalize_name(requirement.name))
            assert version is not None, f"{requirement} is not installed"
            assert requirement.specifier.contains(version, prereleases=True), f"{requirement}: {version}"
