"""One place that talks to the Docker engine: the client, the labels, the leftovers."""

from __future__ import annotations

import os
import socket
import ssl
import time
from datetime import UTC, datetime

from .errors import DockerUnavailable

LABEL = "patchwright"
"""Every container and image patchwright creates carries this label (value "1")."""
LABEL_KIND = "patchwright.kind"
LABEL_OWNER = "patchwright.owner"
"""host:pid of the process that created a container; `doctor --cleanup` removes those whose owner is gone."""

_clients: dict[str, object] = {}


def docker_client(timeout: int = 120):
    """A docker SDK client for the engine DOCKER_HOST names (or the default socket).

    Raises DockerUnavailable with one line when no engine answers.
    """
    # the docker SDK loads slowly: imported when the engine is needed
    import docker

    host = os.environ.get("DOCKER_HOST", "")
    key = f"{host}|{timeout}"
    client = _clients.get(key)
    if client is not None:
        return client
    where = host or "unix:///var/run/docker.sock"
    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
    except Exception as exc:  # the SDK raises several kinds here
        raise DockerUnavailable(
            f"no Docker engine answers at {where} ({_short(exc)}); start it (e.g. `dockerd &` as root) "
            "or point DOCKER_HOST at a running engine"
        ) from None
    _clients[key] = client
    return client


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]


def owner_label() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def owner_alive(owner: str) -> bool:
    """Whether the process named by an owner label still runs (on this host)."""
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def base_labels(kind: str) -> dict[str, str]:
    return {LABEL: "1", LABEL_KIND: kind, LABEL_OWNER: owner_label(), "patchwright.created": str(int(time.time()))}


STALE_SECONDS = 3600


def _age(created: str) -> float:
    """Seconds since an engine timestamp (RFC 3339, maybe with nanoseconds); 0 when unreadable."""
    try:
        stamp = datetime.fromisoformat(created[:26].rstrip("Z") + "+00:00") if created else None
    except ValueError:
        return 0.0
    return (datetime.now(UTC) - stamp).total_seconds() if stamp else 0.0


def remove_unused_images(client, images: list[tuple[str, str]]) -> tuple[list[str], list[str]]:
    """Remove each image, given as (tag or id, image id), unless a running container uses it.

    Never forced: the engine itself refuses an image a container still uses (a forced removal would
    strip its tag from under a running container). Returns (removed, kept); the ones kept are named
    with the reason.
    """
    # the docker SDK loads slowly: imported when the engine is needed
    import docker

    # a container may go between the listing and its inspection (ignore_removed: not an error)
    running = {c.attrs.get("Image", "") for c in client.containers.list(filters={"status": "running"},
                                                                       ignore_removed=True)}
    removed: list[str] = []
    kept: list[str] = []
    for ref, image_id in images:
        if image_id in running:
            kept.append(f"{ref} (used by a running container)")
            continue
        try:
            client.images.remove(ref, force=False)
            removed.append(ref)
        except docker.errors.ImageNotFound:
            pass
        except docker.errors.APIError as exc:
            if exc.status_code != 409:
                raise
            kept.append(f"{ref} (in use: {_short(exc).split(': ')[-1][:80]})")
    return removed, kept


def cleanup(remove_images: bool = False, label: str = LABEL) -> tuple[list[str], list[str], list[str]]:
    """Remove patchwright containers whose owner process is gone, and dangling patchwright images.

    With remove_images, every image patchwright labelled goes too, except those a running container
    uses. `label` narrows everything to containers and images carrying that label. Returns
    (containers removed, images removed, images kept).
    """
    # the docker SDK loads slowly: imported when the engine is needed
    import docker

    client = docker_client()
    removed_containers: list[str] = []
    for c in client.containers.list(all=True, filters={"label": label}, ignore_removed=True):
        owner = c.labels.get(LABEL_OWNER, "")
        if not owner:
            # no owner of its own: a build step's container (it inherits the image's labels);
            # the build removes it, unless the build died long ago
            if c.status == "running" or _age(c.attrs.get("Created", "")) < STALE_SECONDS:
                continue
        elif owner_alive(owner) and c.status == "running":
            continue
        try:
            c.remove(force=True)
            removed_containers.append(c.name)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            if exc.status_code != 409:  # removal already in progress
                raise
    filters = {"label": label} if remove_images else {"label": label, "dangling": True}
    images = []
    for img in client.images.list(filters=filters):
        if not remove_images and _age(img.attrs.get("Created", "")) < STALE_SECONDS:
            continue  # an untagged image this young may be a build's intermediate layer
        images.append((img.tags[0] if img.tags else img.short_id, img.id))
    removed_images, kept = remove_unused_images(client, images)
    return removed_containers, removed_images, kept


def host_ca_bundle() -> str | None:
    """The host's CA bundle (a TLS-inspecting proxy may sit between the engine and the registries):
    mounted into workspace containers given the network, and copied into image builds."""
    candidates = [os.environ.get("SSL_CERT_FILE"), ssl.get_default_verify_paths().cafile,
                  "/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem"]
    for c in candidates:
        if c and os.path.isfile(c):
            return c
    return None


def ca_env(path: str) -> dict[str, str]:
    """The variables that make pip, OpenSSL and requests trust the CA bundle at `path`."""
    return {"PIP_CERT": path, "SSL_CERT_FILE": path, "REQUESTS_CA_BUNDLE": path}
