"""Images: the base image every workspace starts from, and the environment and instance layers.

`ensure_base_image(python)` returns a tag that exists after the call. It reuses an image with the
same recipe hash, else builds `FROM python:<v>-slim` when a registry answers, else bootstraps a
minimal Debian offline (debootstrap + `docker import`, which needs root). The recipe's hash is in
the tag and in a label, so a changed recipe builds anew.

`ensure_instance_image(instance)` builds the layers above it: an environment image per (repo,
version) with the spec's dependencies, then an instance image with the repository at its base
commit, installed. Both tags hash what went into them, so an unchanged spec never rebuilds.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import posixpath
import re
import shlex
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from .docker_util import LABEL, LABEL_KIND, docker_client
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
        if _image_exists(client, tag):
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


def _image_exists(client, tag: str) -> bool:
    import docker

    try:
        client.images.get(tag)
        return True
    except docker.errors.ImageNotFound:
        return False


def _build_from_registry(python: str, tag: str) -> bool:
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
# environment and instance images: base -> environment (repo, version) -> instance (base_commit)

ENV_REPO = "patchwright/env"
INSTANCE_REPO = "patchwright/inst"
TESTBED = "/testbed"
LABEL_INSTANCE = "patchwright.instance"
LABEL_ENV = "patchwright.env"
_tag_locks: dict[str, threading.Lock] = {}


class ImageBuildError(Exception):
    """An image build failed; `log` holds the build output."""

    def __init__(self, message: str, log: str):
        super().__init__(message)
        self.log = log


def _tag_part(text: str) -> str:
    clean = "".join(c if c.isalnum() or c in "._-" else "_" for c in text)
    return clean.strip(".-")[:90] or "x"


def _lock_for(tag: str) -> threading.Lock:
    with _build_lock:
        return _tag_locks.setdefault(tag, threading.Lock())


def image_exists(tag: str) -> bool:
    return _image_exists(docker_client(), tag)


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
    cmd = m.group(1).replace(_NET, "").strip()
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


def _requirements_text(spec, source, commit: str) -> str:
    """The first of the spec's requirement files found at `commit`, with `-r` includes inlined."""
    from .sources import read_at

    for path in spec.requirements:
        text = read_at(source, commit, path)
        if text is None:
            continue
        base = posixpath.dirname(path)
        out: list[str] = []
        for line in text.splitlines():
            s = line.strip()
            if s.startswith("-r ") or s.startswith("--requirement "):
                inc = read_at(source, commit, posixpath.normpath(posixpath.join(base, s.split(None, 1)[1])))
                out.extend(x for x in (inc or "").splitlines() if not _skip_req(x))
            elif not _skip_req(s):
                out.append(line)
        return "\n".join(out) + "\n"
    return ""


def _skip_req(line: str) -> bool:
    s = line.strip()
    return not s or s.startswith(("#", "-e .", "-e ..", ".[", "-c ", "-r ")) or s in (".", "..")


CONTAINER_CA = "/usr/local/share/patchwright/host-ca.crt"
# build steps that download (pip, apt) trust the host's CA bundle (a TLS-inspecting proxy may sit
# between the engine and the registries); the images' runtime environment is left as it is
_NET = (f"export PIP_CERT={CONTAINER_CA} SSL_CERT_FILE={CONTAINER_CA} REQUESTS_CA_BUNDLE={CONTAINER_CA}; "
        "[ -s $PIP_CERT ] || unset PIP_CERT SSL_CERT_FILE REQUESTS_CA_BUNDLE; ")


def _copy_host_ca(ctx: str) -> None:
    from .docker_workspace import host_ca_bundle

    ca = host_ca_bundle()
    Path(ctx, "host-ca.crt").write_bytes(Path(ca).read_bytes() if ca else b"")


def env_dockerfile(base: str, spec, has_requirements: bool) -> str:
    lines = [f"FROM {base}", f"COPY host-ca.crt {CONTAINER_CA}", f"RUN {_NET}python -m pip install -q -U pip"]
    if spec.apt_packages:
        lines.append("RUN apt-get update && apt-get install -y --no-install-recommends "
                     + " ".join(shlex.quote(p) for p in spec.apt_packages) + " && rm -rf /var/lib/apt/lists/*")
    if has_requirements:
        lines += ["COPY requirements.txt /tmp/patchwright-requirements.txt",
                  f"RUN {_NET}python -m pip install -r /tmp/patchwright-requirements.txt"]
    if spec.pip_packages:
        lines.append(f"RUN {_NET}python -m pip install " + " ".join(shlex.quote(p) for p in spec.pip_packages))
    return "\n".join(lines) + "\n"


def instance_dockerfile(env: str, spec) -> str:
    steps = [*spec.pre_install, *( [spec.install] if spec.install else [])]
    script = " && ".join(f"({s})" for s in steps) if steps else "true"
    commit = ("git -c user.name=patchwright -c user.email=patchwright@localhost commit -q --allow-empty -am "
              "'patchwright: environment setup'")
    return (f"FROM {env}\nCOPY repo {TESTBED}\nWORKDIR {TESTBED}\n"
            f"RUN git config --global --add safe.directory '*'\n"
            f"RUN {_NET}{script}\nRUN {commit}\n")


def env_image_tag(instance, spec, source) -> tuple[str, str, str]:
    """(tag, Dockerfile, requirements text) of the environment image for an instance's spec."""
    base = base_tag_for(spec.python)
    commit = instance.environment_setup_commit or instance.base_commit
    reqs = _requirements_text(spec, source, commit) if spec.requirements else ""
    dockerfile = env_dockerfile(base, spec, bool(reqs))
    from .specs import digest

    h = digest(dockerfile, reqs)
    tag = f"{ENV_REPO}:{_tag_part(instance.repo_slug.lower())}-{_tag_part(instance.version or 'any')}-{h}"
    return tag, dockerfile, reqs


def base_tag_for(python: str) -> str:
    """The base image for a Python version: an existing one, else the one ensure_base_image builds."""
    return find_base_image(python) or ensure_base_image(python)


_failed_builds: dict[str, ImageBuildError] = {}
"""Environment builds that failed in this process: the instances that share one fail at once."""


def ensure_env_image(instance, spec, source, say=None) -> tuple[str, bool]:
    """The environment image for an instance (built when missing); (tag, built now).

    A build that failed earlier in this process is not tried again: its error is raised again.
    """
    tag, dockerfile, reqs = env_image_tag(instance, spec, source)
    with _lock_for(tag):
        if tag in _failed_builds:
            raise _failed_builds[tag]
        if image_exists(tag):
            return tag, False
        if say:
            say(f"building {tag}")
        with tempfile.TemporaryDirectory(prefix="patchwright-env-") as ctx:
            Path(ctx, "Dockerfile").write_text(dockerfile)
            _copy_host_ca(ctx)
            if reqs:
                Path(ctx, "requirements.txt").write_text(reqs)
            labels = {LABEL: "1", LABEL_KIND: "env", LABEL_ENV: f"{instance.repo}@{instance.version}"}
            try:
                build_image(tag, ctx, labels)
            except ImageBuildError as exc:
                _failed_builds[tag] = exc
                raise
        return tag, True


def instance_image_tag(instance, spec, env_tag: str) -> str:
    from .sources import EXPORT_RECIPE
    from .specs import digest

    h = digest(env_tag, instance.repo, instance.base_commit, instance_dockerfile(env_tag, spec), EXPORT_RECIPE)
    return f"{INSTANCE_REPO}:{_tag_part(instance.instance_id.lower())}-{h}"


def official_image_name(instance_id: str) -> str:
    """The official SWE-bench instance image of an instance (x86_64)."""
    return f"swebench/sweb.eval.x86_64.{instance_id.replace('__', '_1776_')}:latest".lower()


def pull_image(name: str) -> str:
    """Pull an image from a registry (unless present); ImageNotFound when none answers."""
    import docker

    from .errors import ImageNotFound

    client = docker_client(timeout=3600)
    if _image_exists(client, name):
        return name
    repo, _, tag = name.rpartition(":") if ":" in name.rsplit("/", 1)[-1] else (name, "", "latest")
    try:
        client.images.pull(repo, tag=tag or "latest")
    except docker.errors.APIError as exc:
        raise ImageNotFound(f"cannot pull {name} ({str(exc).splitlines()[0][:120]}): no registry answers or "
                            "it has no such image; build images locally instead (--image-source build)") from None
    return name


@dataclass
class InstanceImage:
    """The image an instance runs in and how it was obtained."""

    tag: str
    """The image to start the workspace from (the repository is at /testbed)."""
    source: str
    """`build` (our layers), `official` (SWE-bench's image) or `instance` (named by the instance)."""
    built: list[str] = field(default_factory=list)
    """Tags built by this call (empty on a cache hit)."""
    build_log: str = ""
    """The build output of what was built now."""


def ensure_instance_image(instance, spec=None, *, mirrors=None, specs=None, image_source: str = "build",
                          online: bool = True, say=None) -> InstanceImage:
    """The image for an instance: its own `image`, the official one, or our environment + instance layers.

    Tags are content-addressed (spec, requirements, base commit), so an unchanged spec never
    rebuilds. Raises ImageBuildError (with the log) when a build fails, UserError when the
    repository or a base cannot be had.
    """
    if instance.image:
        return InstanceImage(pull_image(instance.image), "instance")
    if image_source == "official":
        return InstanceImage(pull_image(official_image_name(instance.instance_id)), "official")
    if spec is None:
        from .specs import SpecTable

        spec = (specs or SpecTable()).for_instance(instance)
    from .sources import export_commit, repo_source

    source = repo_source(instance, mirrors, online=online)
    built: list[str] = []
    env_tag, env_built = ensure_env_image(instance, spec, source, say)
    if env_built:
        built.append(env_tag)
    tag = instance_image_tag(instance, spec, env_tag)
    log = ""
    with _lock_for(tag):
        if not image_exists(tag):
            if say:
                say(f"building {tag}")
            with tempfile.TemporaryDirectory(prefix="patchwright-inst-") as ctx:
                export_commit(source, instance.base_commit, Path(ctx, "repo"))
                Path(ctx, "Dockerfile").write_text(instance_dockerfile(env_tag, spec))
                labels = {LABEL: "1", LABEL_KIND: "instance", LABEL_INSTANCE: instance.instance_id,
                          LABEL_ENV: env_tag}
                log = build_image(tag, ctx, labels)
            built.append(tag)
    return InstanceImage(tag, "build", built, log)


def list_images(kinds: tuple[str, ...] = ("env", "instance")) -> list[dict]:
    """patchwright's environment and instance images: tag, id, kind, size (bytes), created."""
    client = docker_client()
    rows = []
    for img in client.images.list(filters={"label": LABEL}):
        kind = img.labels.get(LABEL_KIND, "")
        if kind not in kinds:
            continue
        rows.append({"tag": img.tags[0] if img.tags else img.short_id, "id": img.id, "kind": kind,
                     "instance": img.labels.get(LABEL_INSTANCE, ""), "env": img.labels.get(LABEL_ENV, ""),
                     "size": img.attrs.get("Size", 0), "created": img.attrs.get("Created", "")})
    return sorted(rows, key=lambda r: (r["kind"], r["tag"]))


def remove_images(kinds: tuple[str, ...] = ("env", "instance")) -> tuple[list[str], list[str]]:
    """Remove patchwright's images of these kinds (instances first), except those a running
    container uses; returns (removed tags, kept tags with the reason)."""
    from .docker_util import remove_unused_images

    client = docker_client()
    rows = sorted(list_images(kinds), key=lambda r: r["kind"] != "instance")
    return remove_unused_images(client, [(r["tag"], r["id"]) for r in rows])
