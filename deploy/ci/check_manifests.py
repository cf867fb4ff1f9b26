"""Checks Kubernetes manifests (static files or `helm template` output) for scripts/ci/deploy.sh.

For every YAML document:
- built-in kinds are validated with kubernetes-validate against the offline JSON schemas of
  each Kubernetes version given (strict: unknown fields are errors); a kind without a schema
  is an error, not a warning;
- custom resources (keda.sh, monitoring.coreos.com) are collected into a JSON file for
  crd-schemas/validate.mjs, which checks them against their CRD schemas;
- Deployments must follow the sidecar contract of deploy/README.md: ferry as a native sidecar
  (init container with restartPolicy Always) probed on /healthz (startup, liveness) and
  /readyz (readiness), non-root pod, every container with a read-only root filesystem, no
  privilege escalation, all capabilities dropped, memory requests and limits, no service
  links, and a terminationGracePeriodSeconds above ferry's [shutdown] grace plus its log flush;
- every ConfigMap's `ferry.toml` is parsed as TOML and written out for `ferry check`.

Usage: check_manifests.py --label NAME --k8s-version 1.29.0 [--k8s-version ...]
       --crd-out FILE --toml-dir DIR FILE...
Prints one line per finding; exits 1 if anything failed.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tomllib
from pathlib import Path

import yaml
from kubernetes_validate import utils as kv

CRD_GROUPS = {"keda.sh", "monitoring.coreos.com"}
DURATION_UNITS = {"ms": 0.001, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}


def parse_duration(text: str) -> float:
    """Seconds in a humantime duration such as "25s", "1m 30s" or "1500ms"."""
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*([a-z]+)", text)
    if not parts or re.sub(r"[\d.\sa-z]", "", text):
        raise ValueError(f"cannot read duration {text!r}")
    total = 0.0
    for number, unit in parts:
        if unit not in DURATION_UNITS:
            raise ValueError(f"unknown unit {unit!r} in duration {text!r}")
        total += float(number) * DURATION_UNITS[unit]
    return total


class Checker:
    """Collects problems and custom resources over all documents."""

    def __init__(self, versions: list[str]) -> None:
        self.versions = versions
        self.problems = 0
        self.crds: list[dict] = []
        self.configmaps: dict[str, dict] = {}
        self.deployments: list[tuple[str, dict]] = []
        self.checked = 0

    def fail(self, where: str, message: str) -> None:
        self.problems += 1
        print(f"ERROR {where}: {message}")

    def document(self, source: str, doc: dict) -> None:
        kind = doc.get("kind")
        name = (doc.get("metadata") or {}).get("name")
        api_version = doc.get("apiVersion", "")
        where = f"{source}: {kind}/{name}"
        if not (kind and name and api_version):
            self.fail(source, "a document without apiVersion, kind or metadata.name")
            return
        self.checked += 1
        group = api_version.split("/")[0] if "/" in api_version else ""
        if group in CRD_GROUPS:
            self.crds.append({"source": source, "resource": doc})
            return
        for version in self.versions:
            try:
                kv.validate(doc, version, strict=True)
            except kv.ValidationError as e:
                path = ".".join(str(p) for p in e.path)
                self.fail(where, f"Kubernetes {e.version} schema: {path}: {e.message}")
            except kv.SchemaNotFoundError as e:
                self.fail(where, e.message)
            except kv.VersionNotSupportedError:
                self.fail(where, f"kubernetes-validate has no schemas for Kubernetes {version}")
        if kind == "ConfigMap":
            self.configmaps[name] = doc
        elif kind == "Deployment":
            self.deployments.append((where, doc))

    def deployment(self, where: str, doc: dict) -> None:
        pod = doc["spec"]["template"]["spec"]
        if pod.get("enableServiceLinks") is not False:
            self.fail(where, "enableServiceLinks must be false (service links would reach ferry as FERRY_* overrides)")
        if not (pod.get("securityContext") or {}).get("runAsNonRoot"):
            self.fail(where, "the pod's securityContext.runAsNonRoot must be true")
        labels = (doc.get("metadata") or {}).get("labels") or {}
        if labels.get("app.kubernetes.io/component") == "console":
            # `ferry console`: no worker, no sidecar; the container rules below still hold.
            self.console(where, pod)
            self.containers(where, pod)
            return
        sidecars = [c for c in pod.get("initContainers", []) if c.get("restartPolicy") == "Always"]
        ferry = [c for c in sidecars if c.get("name") == "ferry"]
        if len(ferry) != 1:
            self.fail(where, "needs one init container named ferry with restartPolicy: Always (native sidecar)")
        else:
            for probe, path in (("startupProbe", "/healthz"), ("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
                got = ((ferry[0].get(probe) or {}).get("httpGet") or {}).get("path")
                if got != path:
                    self.fail(where, f"ferry's {probe} must GET {path}, not {got}")
        self.containers(where, pod)
        grace_limit = pod.get("terminationGracePeriodSeconds")
        self.grace(where, pod, grace_limit)

    def console(self, where: str, pod: dict) -> None:
        """The console's pod: `ferry console` on a console.toml that parses, with a token."""
        containers = pod.get("containers", [])
        if len(containers) != 1 or (containers[0].get("args") or [])[:1] != ["console"]:
            self.fail(where, "a console Deployment runs one container: ferry console")
            return
        env = {e.get("name") for e in containers[0].get("env", [])}
        if "FERRY_CONSOLE_TOKEN" not in env:
            self.fail(where, "the console listens beyond loopback: it needs FERRY_CONSOLE_TOKEN")
        for volume in pod.get("volumes", []):
            cm_name = (volume.get("configMap") or {}).get("name")
            cm = self.configmaps.get(cm_name) if cm_name else None
            text = ((cm or {}).get("data") or {}).get("console.toml")
            if text is None:
                continue
            try:
                cfg = tomllib.loads(text)
            except tomllib.TOMLDecodeError as e:
                self.fail(where, f"console.toml of ConfigMap {cm_name}: {e}")
                continue
            if not str(cfg.get("state", "")).startswith("/"):
                self.fail(where, "console.toml's state must be an absolute path on the volume")

    def containers(self, where: str, pod: dict) -> None:
        for c in pod.get("initContainers", []) + pod.get("containers", []):
            cw = f"{where}: container {c.get('name')}"
            sc = c.get("securityContext") or {}
            if sc.get("readOnlyRootFilesystem") is not True:
                self.fail(cw, "securityContext.readOnlyRootFilesystem must be true")
            if sc.get("allowPrivilegeEscalation") is not False:
                self.fail(cw, "securityContext.allowPrivilegeEscalation must be false")
            if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
                self.fail(cw, "securityContext.capabilities.drop must contain ALL")
            res = c.get("resources") or {}
            if not (res.get("requests") and (res.get("limits") or {}).get("memory")):
                self.fail(cw, "needs resource requests and a memory limit")

    def grace(self, where: str, pod: dict, grace_limit) -> None:
        for volume in pod.get("volumes", []):
            cm_name = (volume.get("configMap") or {}).get("name")
            cm = self.configmaps.get(cm_name) if cm_name else None
            text = ((cm or {}).get("data") or {}).get("ferry.toml")
            if text is None:
                continue
            try:
                cfg = tomllib.loads(text)
                grace = parse_duration(cfg.get("shutdown", {}).get("grace", "25s"))
                es = cfg.get("logs", {}).get("elasticsearch")
                flush = parse_duration(es.get("shutdown_timeout", "10s")) if es else 0.0
            except (tomllib.TOMLDecodeError, ValueError) as e:
                self.fail(where, f"ferry.toml of ConfigMap {cm_name}: {e}")
                continue
            if grace_limit is None or grace_limit <= grace + flush:
                self.fail(where, f"terminationGracePeriodSeconds ({grace_limit}) must exceed ferry's shutdown grace ({grace:g}s) plus its log flush ({flush:g}s)")

    def finish(self, label: str, toml_dir: Path | None) -> list[Path]:
        for where, doc in self.deployments:
            self.deployment(where, doc)
        written = []
        for name, cm in sorted(self.configmaps.items()):
            text = (cm.get("data") or {}).get("ferry.toml")
            if text is None:
                continue
            try:
                tomllib.loads(text)
            except tomllib.TOMLDecodeError as e:
                self.fail(f"ConfigMap/{name}", f"ferry.toml is not valid TOML: {e}")
                continue
            if toml_dir is not None:
                path = toml_dir / f"{label}__{name}.toml"
                path.write_text(text)
                written.append(path)
        for name, cm in sorted(self.configmaps.items()):
            text = (cm.get("data") or {}).get("console.toml")
            if text is not None and toml_dir is not None:
                # Checked by deploy.sh with `ferry console --check`.
                path = toml_dir / f"{label}__{name}.console-toml"
                path.write_text(text)
                written.append(path)
        return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--label", required=True, help="names this set in output files")
    parser.add_argument("--k8s-version", action="append", required=True, dest="versions")
    parser.add_argument("--crd-out", type=Path, required=True, help="JSON file for validate.mjs")
    parser.add_argument("--toml-dir", type=Path, help="where to write each ConfigMap's ferry.toml")
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args()

    checker = Checker(args.versions)
    for file in args.files:
        try:
            docs = [d for d in yaml.safe_load_all(file.read_text()) if d]
        except yaml.YAMLError as e:
            checker.fail(str(file), f"not valid YAML: {e}")
            continue
        for doc in docs:
            checker.document(file.name, doc)
    written = checker.finish(args.label, args.toml_dir)

    existing = json.loads(args.crd_out.read_text()) if args.crd_out.exists() else []
    args.crd_out.write_text(json.dumps(existing + checker.crds))
    for path in written:
        print(f"TOML  {path}")
    print(
        f"{args.label}: {checker.checked} resources, {len(checker.crds)} custom resources for the CRD check, "
        f"{len(written)} ferry.toml extracted, {checker.problems} problems"
    )
    return 1 if checker.problems else 0


if __name__ == "__main__":
    sys.exit(main())
