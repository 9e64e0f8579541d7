"""Base images: the image every Docker workspace starts from.

`ensure_base_image(python)` returns a tag that exists after the call. It reuses an image with the
same recipe hash, else builds `FROM python:<v>-slim` when a registry answers, else bootstraps a
minimal Debian offline (debootstrap + `docker import`, which needs root). The recipe's hash is in
the tag and in a label, so a changed recipe builds anew.

`build_image(tag, context)` builds the layers above it, with the network on for pip and apt (and
the host's CA bundle trusted by those steps): the harness's environment and instance images
(`harness.images`, which knows SWE-bench) and a repository's detected environment
(`sandbox.environment`).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

from .docker_util import LABEL, LABEL_KIND, ca_env, docker_client, host_ca_bundle
from .errors import UserError

BASE_REPO = "patchwright/base"
LABEL_RECIPE = "patchwright.recipe"

# Debian releases the package mirror serves, by the Python they carry.
OFFLINE_RELEASES = {"3.9": "bullseye", "3.11": "bookworm", "3.13": "trixie"}
BASE_PACKAGES = ["python3", "python3-venv", "python3-pip", "python3-dev", "python-is-python3", "git",
                 "ca-certificates", "patch", "procps"]
_ENV = {"LANG": "C.UTF-8", "PIP_BREAK_SYSTEM_PACKAGES": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PIP_ROOT_USER_ACTION": "ignore", "DEBIAN_FRONTEND": "noninteractive"}

_build_lock = threading.Lock()


def registry_dockerfile(python: str) -> str:
    env = " ".join(f"{k}={v}" for k, v in _ENV.items())
    return (
        f"FROM python:{python}-slim\n"
        "RUN apt-get update && apt-get install -y --no-install-recommends git ca-certificates patch procps "
        "&& rm -rf /var/lib/apt/lists/*\n"
        f"ENV {env}\n"
        "WORKDIR /\n"
    )


def offline_recipe(python: str) -> dict:
    release = OFFLINE_RELEASES.get(python)
    return {"variant": "minbase", "release": release, "packages": BASE_PACKAGES, "env": _ENV}


def recipe_hash(recipe: object) -> str:
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:12]


def base_tag(python: str, source: str) -> str:
    recipe = registry_dockerfile(python) if source == "registry" else offline_recipe(python)
    return f"{BASE_REPO}:py{python}-{source}-{recipe_hash(recipe)}"


def find_base_image(python: str = "3.11") -> str | None:
    """The tag of an existing base image for this Python and the current recipes, if any."""
    client = docker_client()
    for source in ("registry", "offline"):
        tag = base_tag(python, source)
        if has_image(client, tag):
            return tag
    return None


def ensure_base_image(python: str = "3.11", *, offline: bool | None = None, progress=None) -> str:
    """Return the tag of a base image with `python`, git and pip; build it when missing.

    `offline=None` tries the registry first (unless PATCHWRIGHT_OFFLINE=1) and falls back to the
    offline bootstrap. `progress`, if given, is called with one-line status messages.
    """
    say = progress or (lambda msg: None)
    with _build_lock:
        existing = find_base_image(python)
        if existing:
            return existing
        if offline is None:
            offline = os.environ.get("PATCHWRIGHT_OFFLINE") == "1"
        if not offline:
            tag = base_tag(python, "registry")
            say(f"building {tag} from python:{python}-slim")
            if _build_from_registry(python, tag):
                return tag
            say("no registry answers; bootstrapping a Debian base offline")
        return _build_offline(python, say)


def has_image(client, tag: str) -> bool:
    """Whether the engine behind `client` holds an image named `tag`."""
    # the docker SDK loads slowly: imported when the engine is needed
    import docker

    try:
        client.images.get(tag)
        return True
    except docker.errors.ImageNotFound:
        return False


def _build_from_registry(python: str, tag: str) -> bool:
    # the docker SDK loads slowly: imported when the engine is needed
    import docker

    client = docker_client(timeout=1800)
    dockerfile = registry_dockerfile(python)
    labels = {LABEL: "1", LABEL_KIND: "base", LABEL_RECIPE: recipe_hash(dockerfile)}
    try:
        client.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=tag, labels=labels, rm=True,
                            forcerm=True, pull=True)
        return True
    except (docker.errors.BuildError, docker.errors.APIError):
        return False


def _build_offline(python: str, say) -> str:
    release = OFFLINE_RELEASES.get(python)
    if release is None:
        raise UserError(
            f"no registry answers and Python {python} has no offline base (offline bases: "
            f"{', '.join(sorted(OFFLINE_RELEASES))}); use one of those or a machine that reaches Docker Hub"
        )
    if shutil.which("debootstrap") is None or os.geteuid() != 0:
        raise UserError(
            "no registry answers and the offline base needs root and debootstrap: run as root with "
            "`apt-get install -y debootstrap`, or pull python:" + python + "-slim where a registry answers"
        )
    recipe = offline_recipe(python)
    tag = base_tag(python, "offline")
    client = docker_client(timeout=1800)
    tmp = tempfile.mkdtemp(prefix="patchwright-base-")
    try:
        say(f"debootstrap {release} (about a minute)")
        cmd = ["debootstrap", "--variant=minbase", f"--include={','.join(BASE_PACKAGES)}", release, tmp]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            tail = (res.stdout + res.stderr).strip().splitlines()[-3:]
            raise UserError(f"debootstrap {release} failed: {' | '.join(tail)}")
        # the bootstrap host's apt caches and resolver settings do not belong in the image
        shutil.rmtree(os.path.join(tmp, "var/cache/apt/archives"), ignore_errors=True)
        os.makedirs(os.path.join(tmp, "var/cache/apt/archives/partial"), exist_ok=True)
        say(f"importing {tag}")
        changes = [f"ENV {k}={v}" for k, v in _ENV.items()]
        changes += ['CMD ["/bin/bash"]', "WORKDIR /",
                    f"LABEL {LABEL}=1 {LABEL_KIND}=base {LABEL_RECIPE}={recipe_hash(recipe)}"]
        _import_rootfs(client, tmp, tag, changes)
        return tag
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _import_rootfs(client, root: str, tag: str, changes: list[str]) -> None:
    """`docker import` of a directory through the engine API (no docker CLI needed)."""
    repo, _, version = tag.rpartition(":")
    proc = subprocess.Popen(["tar", "-C", root, "-c", "."], stdout=subprocess.PIPE)
    try:
        client.api.import_image_from_stream(proc.stdout, repository=repo, tag=version, changes=changes)
    finally:
        proc.stdout.close()
        proc.wait()


# ---------------------------------------------------------------------------------------------
# building an image from a context directory (the harness's layers and sandbox.environment's)


class ImageBuildError(Exception):
    """An image build failed; `log` holds the build output."""

    def __init__(self, message: str, log: str):
        super().__init__(message)
        self.log = log


def image_exists(tag: str) -> bool:
    """Whether the engine has an image of this tag."""
    return has_image(docker_client(), tag)


# a concurrent cleanup (e.g. `doctor --cleanup` elsewhere on the engine) can remove a build's
# intermediate image or kill its step container (exit 137): such a build is tried again
_VANISHED = ("unknown parent image", "No such image", "failed to get digest", "No such container",
             "returned a non-zero code: 137")
_STEP_FAILED = re.compile(r"The command '(?:/bin/sh -c )?(.*)' returned a non-zero code: (\d+)", re.S)


def _build_error(tag: str, error: str) -> str:
    """One line: which step of which image failed, with its exit code."""
    m = _STEP_FAILED.search(error)
    if not m:
        return f"building {tag} failed: {error.strip().splitlines()[-1][:200]}"
    cmd = m.group(1).replace(BUILD_NET, "").strip()
    cmd = cmd if len(cmd) <= 120 else cmd[:117] + "..."
    return f"building {tag} failed: `{cmd}` exited {m.group(2)} (see image_build.log)"


def build_image(tag: str, context_dir: str, labels: dict[str, str]) -> str:
    """`docker build` of a context directory (with its Dockerfile), network on; returns the build log.

    Raises ImageBuildError with the log when a step fails. A build whose intermediate image
    vanished (a concurrent `doctor --cleanup` removes dangling images) is tried again.
    """
    client = docker_client(timeout=3600)
    for attempt in range(3):
        lines: list[str] = []
        error = None
        for chunk in client.api.build(path=context_dir, tag=tag, labels=labels, rm=True, forcerm=True,
                                      decode=True, network_mode="bridge"):
            if "stream" in chunk:
                lines.append(chunk["stream"])
            if "error" in chunk:
                error = chunk["error"]
                lines.append(error + "\n")
        log = "".join(lines)
        if error is None:
            return log
        if attempt < 2 and any(m in error for m in _VANISHED):
            continue
        raise ImageBuildError(_build_error(tag, error), log)
    raise AssertionError("unreachable")


BUILD_CA_PATH = "/usr/local/share/patchwright/host-ca.crt"
"""Where the build steps of environment and instance images find the host's CA bundle (copied in)."""
# build steps that download (pip, apt) trust the host's CA bundle (a TLS-inspecting proxy may sit
# between the engine and the registries); the images' runtime environment is left as it is
BUILD_NET = ("export " + " ".join(f"{k}={v}" for k, v in ca_env(BUILD_CA_PATH).items()) + "; "
             "[ -s $PIP_CERT ] || unset " + " ".join(ca_env(BUILD_CA_PATH)) + "; ")


def copy_host_ca(ctx: str) -> None:
    """The host's CA bundle into a build context as host-ca.crt (empty when there is none)."""
    ca = host_ca_bundle()
    Path(ctx, "host-ca.crt").write_bytes(Path(ca).read_bytes() if ca else b"")


def ensure_base_for(python: str) -> str:
    """The base image for a Python version: an existing one, else the one ensure_base_image builds."""
    return find_base_image(python) or ensure_base_image(python)
