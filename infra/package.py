"""``make package`` (``python -m infra.package``): everything a deployment needs, in ``dist/``.

    dist/vkyc.json          the core stack (SAM): functions, APIs, tables, queues, buckets, secrets, alarms
    dist/media-node.json    the media nodes on ECS Fargate (imports the core stack's outputs)
    dist/<app>.zip          each function's deployment package (``chalice package``, with bytecode)
    dist/requirements/<app>.txt   what each package was installed from (the lock file)

Generated from the code alone (``infra.template``, ``infra.media_node_stack``), nothing hand-kept
beside it; docs/deploy.md says how to deploy it. ``--reuse`` keeps the function packages already in
``build/package`` (when only the templates' generation changed).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from infra import media_node_stack
from infra.chalice_build import LOCK, ROOT, PackagedApp, PackageError, app_names, package_app
from infra.template import TemplateError, core_template

TEMPLATES = ("vkyc.json", "media-node.json")


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n")


def package(stage: str, dist: Path, build: Path, *, reuse: bool = False, out: Any = print) -> list[Path]:
    """Build every app and write ``dist/``; returns the templates written."""
    started = time.monotonic()
    if dist.exists():
        shutil.rmtree(dist)
    dist.mkdir(parents=True)
    (dist / "requirements").mkdir()
    build.mkdir(parents=True, exist_ok=True)
    apps: list[PackagedApp] = []
    for name in app_names():
        began = time.monotonic()
        apps.append(package_app(name, stage, build, dist, reuse=reuse))
        shutil.copy2(LOCK, dist / "requirements" / f"{name}.txt")
        out(f"  functions/{name}: dist/{name}.zip ({time.monotonic() - began:.1f} s)")
    write_json(dist / TEMPLATES[0], core_template(apps))
    write_json(dist / TEMPLATES[1], media_node_stack.template())
    out(f"dist/ written in {time.monotonic() - started:.1f} s")
    return [dist / name for name in TEMPLATES]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.package", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--stage", default="dev", help="chalice's stage name (the stack name is chosen at deploy)"
    )
    parser.add_argument("--dist", default=str(ROOT / "dist"))
    parser.add_argument("--build", default=str(ROOT / "build" / "package"))
    parser.add_argument(
        "--reuse", action="store_true", help="reuse build/'s function packages (only the templates changed)"
    )
    args = parser.parse_args(argv)
    try:
        package(args.stage, Path(args.dist), Path(args.build), reuse=args.reuse)
    except (PackageError, TemplateError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
