"""`images clean` and `doctor --cleanup --all-images` never take an image from under a running
container (real Docker engine). The tests make their own images and container, under a label of
their own, and only ever clean those: other images on the machine are never touched."""

from __future__ import annotations

import io
import uuid

import pytest

pytestmark = pytest.mark.docker


@pytest.fixture
def own_images(docker_engine, base_image):
    """Two small images of this test (one used by a running container, one unused) and the label
    that names them; everything is removed afterwards."""
    import docker

    client = docker_engine
    key = f"patchwright.attack-test={uuid.uuid4().hex[:12]}"
    name, value = key.split("=")
    made, containers = {}, []
    for role in ("inuse", "unused"):
        tag = f"patchwright-attack-test/{role}:{value}"
        dockerfile = f"FROM {base_image}\nLABEL {name}={value} patchwright.attack-role={role}\n"
        image, _ = client.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=tag, rm=True)
        made[role] = (tag, image.id)
    try:
        box = client.containers.run(made["inuse"][0], ["sleep", "300"], detach=True, network_disabled=True,
                                    labels={name: value})
        containers.append(box)
        yield client, key, made
    finally:
        for c in containers:
            c.remove(force=True)
        for tag, image_id in made.values():
            for ref in (tag, image_id):
                try:
                    client.images.remove(ref, force=True)
                except docker.errors.ImageNotFound:
                    pass


def tags_of(client, image_id: str) -> list[str]:
    import docker

    try:
        return client.images.get(image_id).tags
    except docker.errors.ImageNotFound:
        return []


@pytest.mark.attack("`patchwright images clean` while a container runs from an instance image",
                    expected="the image in use is kept (named, with why), the unused one removed")
def test_images_clean_keeps_an_image_a_running_container_uses(own_images, monkeypatch):
    import harness.images as images

    client, _key, made = own_images
    rows = [{"tag": tag, "id": image_id, "kind": "instance", "instance": "", "env": "", "size": 0, "created": ""}
            for tag, image_id in made.values()]
    monkeypatch.setattr(images, "list_images", lambda kinds=("env", "instance"): rows)  # only this test's images
    removed, kept = images.remove_images(("instance",))
    inuse_tag, inuse_id = made["inuse"]
    assert removed == [made["unused"][0]]
    assert kept == [f"{inuse_tag} (used by a running container)"]
    assert tags_of(client, inuse_id) == [inuse_tag]  # still tagged: a forced removal would have untagged it
    assert tags_of(client, made["unused"][1]) == []


@pytest.mark.attack("`patchwright doctor --cleanup --all-images` while a container runs from a patchwright image",
                    expected="the image in use is kept, the unused one removed")
def test_doctor_cleanup_all_images_keeps_an_image_a_running_container_uses(own_images):
    from sandbox.docker_util import cleanup

    client, key, made = own_images
    containers, removed, kept = cleanup(remove_images=True, label=key)
    inuse_tag, inuse_id = made["inuse"]
    assert containers == []  # the running container has no owner of ours that is gone: it stays
    assert removed == [made["unused"][0]] and kept == [f"{inuse_tag} (used by a running container)"]
    assert tags_of(client, inuse_id) == [inuse_tag]
