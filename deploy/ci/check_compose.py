"""Structural checks of a compose file that the compose-spec JSON schema cannot make.

(scripts/ci/deploy.sh validates deploy/compose/compose.yaml against the compose-spec schema
with check-jsonschema first; no Docker engine or compose plugin is needed for either.)

- every `network_mode: service:X` and every `depends_on` names a defined service;
- every bind-mounted file or directory and every build Dockerfile exists;
- every named volume is declared under top-level `volumes`;
- every container runs with a read-only root filesystem, except the third-party services
  listed in THIRD_PARTY;
- the ferry.toml files mounted at /etc/ferry/ferry.toml are printed, one per line on stdout
  (prefixed "TOML "), for `ferry check`.

Usage: check_compose.py deploy/compose/compose.yaml. Exits 1 on any problem.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

THIRD_PARTY = {"elasticmq", "pubsub", "pubsub-init", "elasticsearch", "kibana"}


def main() -> int:
    compose_file = Path(sys.argv[1]).resolve()
    base = compose_file.parent
    spec = yaml.safe_load(compose_file.read_text())
    services: dict = spec.get("services") or {}
    volumes = set((spec.get("volumes") or {}).keys())
    problems: list[str] = []
    tomls: list[Path] = []

    for name, svc in services.items():
        where = f"services.{name}"
        mode = svc.get("network_mode", "")
        if mode.startswith("service:") and mode.removeprefix("service:") not in services:
            problems.append(f"{where}.network_mode: no service {mode.removeprefix('service:')!r}")
        if mode.startswith("service:") and svc.get("ports"):
            problems.append(f"{where}: a container in another service's network namespace cannot publish ports")
        depends = svc.get("depends_on") or []
        for dep in depends if isinstance(depends, list) else depends.keys():
            if dep not in services:
                problems.append(f"{where}.depends_on: no service {dep!r}")
        build = svc.get("build")
        if isinstance(build, dict):
            context = (base / build.get("context", ".")).resolve()
            dockerfile = context / build.get("dockerfile", "Dockerfile")
            if not dockerfile.is_file():
                problems.append(f"{where}.build: no Dockerfile at {dockerfile}")
        for volume in svc.get("volumes") or []:
            source, _, rest = str(volume).partition(":")
            target = rest.split(":")[0]
            if source.startswith((".", "/")):
                path = (base / source).resolve()
                if not path.exists():
                    problems.append(f"{where}.volumes: {source} does not exist ({path})")
                elif target == "/etc/ferry/ferry.toml":
                    tomls.append(path)
            elif source not in volumes:
                problems.append(f"{where}.volumes: named volume {source!r} is not declared under volumes")
        if name not in THIRD_PARTY and svc.get("read_only") is not True:
            problems.append(f"{where}: read_only must be true (ferry and the workers run with a read-only root filesystem)")

    for problem in problems:
        print(f"ERROR {compose_file.name}: {problem}")
    for path in tomls:
        print(f"TOML {path}")
    print(f"{compose_file.name}: {len(services)} services, {len(tomls)} ferry.toml mounts, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
