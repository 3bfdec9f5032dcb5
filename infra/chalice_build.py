"""Each Chalice app of ``functions/`` packaged by ``chalice package``, with the shared code vendored in.

Chalice deploys only ``app.py``, ``chalicelib/`` and ``vendor/`` of an app directory, and installs its
``requirements.txt``. So each app is staged in ``build/package/<app>/``:

- ``app.py``, copied unchanged;
- ``vendor/vkyc/`` (the package) and ``vendor/functions/`` (``__init__.py`` and ``chalice_rest.py``, the
  REST glue every app imports as ``functions.chalice_rest``): ``vendor/``'s content lands at the root of
  the deployment package, so the imports are the same as in the source tree;
- ``requirements.txt``: the lock file ``requirements/functions.txt`` as it is (every version and hash
  pinned; boto3 included, so a function never runs on whatever boto3 the Lambda runtime ships);
- ``.chalice/config.json``: the app's name and stage; no IAM role of Chalice's own (``infra.iam`` writes
  one per function) and no automatic policy.

``chalice package`` then writes a SAM template and ``deployment.zip``. Its pip finds the locked wheels
(Lambda's platform: manylinux x86_64, CPython 3.11) in ``build/package/wheels``, downloaded once per
lock file, and nothing else (``PIP_NO_INDEX``): the apps share them, and a package holds exactly the
lock's versions. The zip gets compiled bytecode of every module added
(``__pycache__/*.cpython-311.pyc``, checked by hash, not by time): Lambda's ``/var/task`` is read-only,
so without it every cold start compiles botocore, pydantic and vkyc again (measured here: ``import
boto3`` 620 ms of CPU without bytecode, 130 ms with).

The apps are imported by ``chalice package`` (it reads the routes and event sources), so they need
their settings (``vkyc.config``): placeholders here, the template gives the real ones. Each table's
stream ARN is a placeholder naming the table (``PLACEHOLDER_STREAM``), which ``infra.template``
replaces with the table's ``StreamArn``.
"""

from __future__ import annotations

import hashlib
import json
import os
import py_compile
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vkyc import config, env
from vkyc.repositories.tables import ALL_MODELS

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements" / "functions.txt"
REST_GLUE = ("__init__.py", "chalice_rest.py")
PLACEHOLDER_ACCOUNT = "000000000000"
PLACEHOLDER_STREAM = "arn:aws:dynamodb:{region}:" + PLACEHOLDER_ACCOUNT + ":table/{table}/stream/package"
# What an app is packaged with; infra.template overrides each in the template.
PACKAGE_ROLE = f"arn:aws:iam::{PLACEHOLDER_ACCOUNT}:role/replaced-by-infra-iam"
API_STAGE = "api"  # both APIs' stage name (infra.template writes it out: a Ref to a stage is a cycle)
LAMBDA_PYTHON = f"python{sys.version_info.major}.{sys.version_info.minor}"


class PackageError(RuntimeError):
    pass


@dataclass(frozen=True)
class PackagedApp:
    name: str  # directory under functions/
    template: dict[str, Any]  # chalice's SAM template
    zip_path: Path  # deployment package with bytecode


def app_names() -> list[str]:
    """Every app under ``functions/`` (a directory holding ``app.py``)."""
    names = sorted(p.parent.name for p in (ROOT / "functions").glob("*/app.py"))
    undeclared = set(names) - set(config.FUNCTIONS)
    if undeclared:
        raise PackageError(f"functions/{sorted(undeclared)[0]} is not declared in vkyc/config.py FUNCTIONS")
    return names


def package_environment() -> dict[str, str]:
    """The environment ``chalice package`` imports the apps under: placeholder settings and secrets, and a
    placeholder stream ARN per table."""
    region = env.region()
    values = {"AWS_DEFAULT_REGION": region, "PYTHONDONTWRITEBYTECODE": "1"}
    for variable in config.VARIABLES:
        values[variable.name] = (
            "p" * max(variable.min_length, 1)
            if variable.secret
            else (variable.default or f"package-time-{variable.name.lower()}")
        )
    for model in ALL_MODELS:
        values[env.stream_arn_variable(model.TABLE)] = PLACEHOLDER_STREAM.format(
            region=region, table=model.TABLE
        )
    return values


def stage_app(name: str, stage: str, build: Path) -> Path:
    """Write ``build/<name>/`` as ``chalice package`` wants it; returns the directory."""
    app_dir = build / name
    if app_dir.exists():
        for stale in ("app.py", "vendor", "requirements.txt"):
            target = app_dir / stale
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
    (app_dir / ".chalice").mkdir(parents=True, exist_ok=True)
    shutil.copy2(ROOT / "functions" / name / "app.py", app_dir / "app.py")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "vkyc", app_dir / "vendor" / "vkyc", ignore=ignore)
    (app_dir / "vendor" / "functions").mkdir(parents=True)
    for glue in REST_GLUE:
        shutil.copy2(ROOT / "functions" / glue, app_dir / "vendor" / "functions" / glue)
    shutil.copy2(LOCK, app_dir / "requirements.txt")
    chalice_config = {
        "version": "2.0",
        "app_name": f"vkyc-{name}",
        "automatic_layer": False,
        "autogen_policy": False,
        "manage_iam_role": False,
        "iam_role_arn": PACKAGE_ROLE,
        "stages": {stage: {"api_gateway_stage": API_STAGE}},
    }
    (app_dir / ".chalice" / "config.json").write_text(json.dumps(chalice_config, indent=2) + "\n")
    # One download of the dependencies for every app: they share the lock file.
    shared = build / ".chalice-deployments"
    shared.mkdir(parents=True, exist_ok=True)
    link = app_dir / ".chalice" / "deployments"
    if not link.is_symlink():
        if link.exists():
            shutil.rmtree(link)
        link.symlink_to(shared.resolve(), target_is_directory=True)
    return app_dir


def locked_wheels(build: Path) -> Path:
    """``build/wheels``: the lock file's wheels for Lambda's platform, downloaded once per lock file."""
    wheels = build / "wheels"
    stamp = wheels / (".lock-" + hashlib.sha256(LOCK.read_bytes()).hexdigest()[:16])
    if stamp.exists():
        return wheels
    wheels.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [
            *(sys.executable, "-m", "pip", "download", "--quiet", "--require-hashes", "-r", str(LOCK)),
            *("--dest", str(wheels), "--only-binary=:all:", "--implementation", "cp"),
            *("--python-version", LAMBDA_PYTHON.removeprefix("python"), "--platform", "manylinux2014_x86_64"),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    if done.returncode != 0:
        raise PackageError(f"downloading the locked wheels failed:\n{done.stdout}\n{done.stderr}")
    stamp.touch()
    return wheels


def chalice_package(app_dir: Path, stage: str, out: Path, wheels: Path) -> None:
    chalice = Path(sys.executable).with_name("chalice")
    done = subprocess.run(
        [str(chalice), "package", "--stage", stage, str(out)],
        cwd=app_dir,
        env={
            **os.environ,
            **package_environment(),
            # Chalice's pip: the locked wheels only. Credentials: botocore must not probe for real ones.
            "PIP_NO_INDEX": "1",
            "PIP_FIND_LINKS": str(wheels.resolve()),
            "AWS_ACCESS_KEY_ID": "package",
            "AWS_SECRET_ACCESS_KEY": "package",
        },
        capture_output=True,
        text=True,
        timeout=900,
    )
    if done.returncode != 0:
        raise PackageError(f"chalice package failed for {app_dir.name}:\n{done.stdout}\n{done.stderr}")


def _compile(tree: Path, cache: Path) -> None:
    """Write ``__pycache__/<module>.cpython-3xx.pyc`` beside every module of ``tree``; a module already
    compiled for another app (same place, same text) is copied from ``cache``."""
    cache.mkdir(parents=True, exist_ok=True)
    for source in tree.rglob("*.py"):
        relative = source.relative_to(tree).as_posix()
        key = hashlib.sha256(relative.encode() + b"\0" + source.read_bytes()).hexdigest()
        cached = cache / f"{key}.pyc"
        if not cached.exists():
            scratch = cache / f"{key}.{os.getpid()}.tmp"
            try:
                py_compile.compile(
                    str(source),
                    cfile=str(scratch),
                    dfile=f"/var/task/{relative}",
                    doraise=True,
                    invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
                )
            except py_compile.PyCompileError as exc:
                raise PackageError(f"{relative} does not compile: {exc.msg}") from None
            scratch.replace(cached)
        target = source.parent / "__pycache__" / f"{source.stem}.{sys.implementation.cache_tag}.pyc"
        target.parent.mkdir(exist_ok=True)
        shutil.copyfile(cached, target)


def add_bytecode(source_zip: Path, target_zip: Path, cache: Path) -> int:
    """Copy ``source_zip`` to ``target_zip`` with every module's bytecode beside it; returns the count.

    Hash-checked bytecode (``UNCHECKED_HASH``): the interpreter uses it whatever the files' times are
    after Lambda unpacks the zip. Only for this interpreter's version, which is the functions' runtime
    (``LAMBDA_PYTHON``, from the same interpreter ``chalice package`` ran under)."""
    with tempfile.TemporaryDirectory() as scratch:
        tree = Path(scratch)
        with zipfile.ZipFile(source_zip) as archive:
            archive.extractall(tree)
        _compile(tree, cache)
        count = 0
        target_zip.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(target_zip, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(tree.rglob("*")):
                if path.is_file():
                    relative = path.relative_to(tree).as_posix()
                    info = zipfile.ZipInfo(relative, date_time=(1980, 1, 1, 0, 0, 0))
                    info.external_attr = 0o644 << 16
                    info.compress_type = zipfile.ZIP_DEFLATED
                    archive.writestr(info, path.read_bytes())
                    count += relative.endswith(".pyc")
        return count


def package_app(name: str, stage: str, build: Path, dist: Path, *, reuse: bool = False) -> PackagedApp:
    """Stage, ``chalice package`` and add bytecode: ``dist/<name>.zip`` and chalice's template.
    ``reuse``: take the previous run's output from ``build/`` when there is one (templates only changed)."""
    out = build / f"{name}-out"
    with_bytecode = out / "deployment-with-bytecode.zip"
    if not (reuse and with_bytecode.exists()):
        app_dir = stage_app(name, stage, build)
        if out.exists():
            shutil.rmtree(out)
        chalice_package(app_dir, stage, out, locked_wheels(build))
        add_bytecode(out / "deployment.zip", with_bytecode, build / "bytecode")
    zip_path = dist / f"{name}.zip"
    shutil.copy2(with_bytecode, zip_path)
    return PackagedApp(name, json.loads((out / "sam.json").read_text()), zip_path)
