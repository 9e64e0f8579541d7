"""Instance images: the environment and instance layers above a base image (`sandbox.images`).

`ensure_instance_image(instance)` builds an environment image per (repo, version) with the spec's
dependencies, then an instance image with the repository at its base commit, installed. Both
tags hash what went into them, so an unchanged spec never rebuilds.
"""

from __future__ import annotations

import posixpath
import shlex
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from sandbox.docker_util import LABEL, LABEL_KIND, docker_client, remove_unused_images
from sandbox.errors import ImageNotFound
from sandbox.git import IDENTITY
from sandbox.images import (
    BUILD_CA_PATH,
    BUILD_NET,
    ImageBuildError,
    build_image,
    copy_host_ca,
    ensure_base_for,
    has_image,
    image_exists,
)

from .sources import EXPORT_RECIPE, export_commit, read_at, repo_source
from .specs import SpecTable, digest

# environment and instance images: base -> environment (repo, version) -> instance (base_commit)

ENV_REPO = "patchwright/env"
INSTANCE_REPO = "patchwright/inst"
TESTBED = "/testbed"
LABEL_INSTANCE = "patchwright.instance"
LABEL_ENV = "patchwright.env"
_tag_locks: dict[str, threading.Lock] = {}
_tag_locks_lock = threading.Lock()


def _tag_part(text: str) -> str:
    clean = "".join(c if c.isalnum() or c in "._-" else "_" for c in text)
    return clean.strip(".-")[:90] or "x"


def _lock_for(tag: str) -> threading.Lock:
    with _tag_locks_lock:
        return _tag_locks.setdefault(tag, threading.Lock())


def _requirements_text(spec, source, commit: str) -> str:
    """The first of the spec's requirement files found at `commit`, with `-r` includes inlined."""
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


def env_dockerfile(base: str, spec, has_requirements: bool) -> str:
    lines = [f"FROM {base}", f"COPY host-ca.crt {BUILD_CA_PATH}", f"RUN {BUILD_NET}python -m pip install -q -U pip"]
    if spec.apt_packages:
        lines.append("RUN apt-get update && apt-get install -y --no-install-recommends "
                     + " ".join(shlex.quote(p) for p in spec.apt_packages) + " && rm -rf /var/lib/apt/lists/*")
    if has_requirements:
        lines += ["COPY requirements.txt /tmp/patchwright-requirements.txt",
                  f"RUN {BUILD_NET}python -m pip install -r /tmp/patchwright-requirements.txt"]
    if spec.pip_packages:
        lines.append(f"RUN {BUILD_NET}python -m pip install " + " ".join(shlex.quote(p) for p in spec.pip_packages))
    return "\n".join(lines) + "\n"


def instance_dockerfile(env: str, spec) -> str:
    steps = [*spec.pre_install, *( [spec.install] if spec.install else [])]
    script = " && ".join(f"({s})" for s in steps) if steps else "true"
    commit = (f"git -c user.name={IDENTITY['GIT_AUTHOR_NAME']} -c user.email={IDENTITY['GIT_AUTHOR_EMAIL']} "
              "commit -q --allow-empty -am 'patchwright: environment setup'")
    return (f"FROM {env}\nCOPY repo {TESTBED}\nWORKDIR {TESTBED}\n"
            f"RUN git config --global --add safe.directory '*'\n"
            f"RUN {BUILD_NET}{script}\nRUN {commit}\n")


def env_image_tag(instance, spec, source, base: str) -> tuple[str, str, str]:
    """(tag, Dockerfile, requirements text) of the environment image for an instance's spec on `base`.

    Builds nothing: `ensure_env_image` has the base (`ensure_base_for`) and builds the image.
    """
    commit = instance.environment_setup_commit or instance.base_commit
    reqs = _requirements_text(spec, source, commit) if spec.requirements else ""
    dockerfile = env_dockerfile(base, spec, bool(reqs))
    h = digest(dockerfile, reqs)
    tag = f"{ENV_REPO}:{_tag_part(instance.repo_slug.lower())}-{_tag_part(instance.version or 'any')}-{h}"
    return tag, dockerfile, reqs


_failed_builds: dict[str, ImageBuildError] = {}
"""Environment builds that failed in this process: the instances that share one fail at once."""


def ensure_env_image(instance, spec, source, say=None) -> tuple[str, bool]:
    """The environment image for an instance (built when missing); (tag, built now).

    A build that failed earlier in this process is not tried again: its error is raised again.
    """
    tag, dockerfile, reqs = env_image_tag(instance, spec, source, ensure_base_for(spec.python))
    with _lock_for(tag):
        if tag in _failed_builds:
            raise _failed_builds[tag]
        if image_exists(tag):
            return tag, False
        if say:
            say(f"building {tag}")
        with tempfile.TemporaryDirectory(prefix="patchwright-env-") as ctx:
            Path(ctx, "Dockerfile").write_text(dockerfile)
            copy_host_ca(ctx)
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
    h = digest(env_tag, instance.repo, instance.base_commit, instance_dockerfile(env_tag, spec), EXPORT_RECIPE)
    return f"{INSTANCE_REPO}:{_tag_part(instance.instance_id.lower())}-{h}"


def official_image_name(instance_id: str) -> str:
    """The official SWE-bench instance image of an instance (x86_64)."""
    return f"swebench/sweb.eval.x86_64.{instance_id.replace('__', '_1776_')}:latest".lower()


def pull_image(name: str) -> str:
    """Pull an image from a registry (unless present); ImageNotFound when none answers."""
    # the docker SDK loads slowly: imported when the engine is needed
    import docker

    client = docker_client(timeout=3600)
    if has_image(client, name):
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
        spec = (specs or SpecTable()).for_instance(instance, mirrors, online)
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
    client = docker_client()
    rows = sorted(list_images(kinds), key=lambda r: r["kind"] != "instance")
    return remove_unused_images(client, [(r["tag"], r["id"]) for r in rows])
