"""Helm, built from its module on the Go module proxy into the cache folder (for the chart's tests).

    python -m deploy.local.helm        # builds it once (1.5-3.5 min on 2 cores) and prints its path

Release archives of Helm cannot be downloaded here; the Go module proxy serves its source, so it is
built like Helm's own Makefile does: version and Kubernetes version stamped in with -ldflags (without
them `helm version` is empty and `.Capabilities.KubeVersion` says v1.20).
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

from deploy.local.components import _run, cache_dir
from deploy.local.process import InfraError

HELM_VERSION = "v3.22.0"
HELM_MODULE = "helm.sh/helm/v3"
PART = "helm"


def helm_path() -> Path:
    """Where the built helm binary of HELM_VERSION lives (whether or not it is built yet)."""
    return cache_dir() / f"helm-{HELM_VERSION}" / "bin" / "helm"


def _kubernetes_version(module_dir: Path) -> tuple[str, str]:
    """The Kubernetes (major, minor) Helm's Makefile derives from its client-go: v0.35.x -> (1, 35)."""
    match = re.search(r"^\s*k8s\.io/client-go v(\d+)\.(\d+)\.", (module_dir / "go.mod").read_text(), re.MULTILINE)
    if match is None:
        raise InfraError(PART, f"no k8s.io/client-go requirement in {module_dir / 'go.mod'}")
    return str(int(match.group(1)) + 1), match.group(2)


def _ldflags(module_dir: Path) -> str:
    major, minor = _kubernetes_version(module_dir)
    stamps = [f"{HELM_MODULE}/internal/version.version={HELM_VERSION}",
              f"{HELM_MODULE}/internal/version.gitTreeState=clean"]
    for package in ("pkg/lint/rules", "pkg/chartutil"):
        stamps += [f"{HELM_MODULE}/{package}.k8sVersionMajor={major}", f"{HELM_MODULE}/{package}.k8sVersionMinor={minor}"]
    return " ".join(["-s", "-w", *(f"-X {stamp}" for stamp in stamps)])


def ensure_helm() -> Path:
    """The path of helm HELM_VERSION, building it with `go install` first when it is not in the cache."""
    binary = helm_path()
    if binary.exists():
        return binary
    if shutil.which("go") is None:
        raise InfraError(PART, "go not found: install Go 1.26 or newer (Helm's go.mod asks for it)")
    print(f"  helm: building Helm {HELM_VERSION} with go (first run only, a few minutes)", flush=True)
    info = json.loads(_run(PART, ["go", "mod", "download", "-json", f"{HELM_MODULE}@{HELM_VERSION}"],
                           f"the Go module proxy could not provide {HELM_MODULE}@{HELM_VERSION}", cwd=cache_dir()))
    # GOBIN is given through `env`, as _run passes the environment on unchanged; a build into a
    # temporary folder renamed at the end, so an interrupted build never looks like a finished one.
    building = binary.parent.with_name("bin.partial")
    if building.exists():
        shutil.rmtree(building)
    building.mkdir(parents=True)
    _run(PART, ["env", f"GOBIN={building}", "CGO_ENABLED=0", "go", "install", "-trimpath",
                f"-ldflags={_ldflags(Path(info['Dir']))}", f"{HELM_MODULE}/cmd/helm@{HELM_VERSION}"],
         f"go install of {HELM_MODULE}/cmd/helm@{HELM_VERSION} failed", cwd=cache_dir())
    if binary.parent.exists():
        shutil.rmtree(binary.parent)
    building.rename(binary.parent)
    return binary


def main() -> int:
    try:
        print(ensure_helm())
    except InfraError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
