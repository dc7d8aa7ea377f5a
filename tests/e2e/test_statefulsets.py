"""StatefulSets with the real kubectl, as kubernetes.io's StatefulSet Basics tutorial drives them
(application/web/web.yaml: a headless Service `nginx` and the StatefulSet `web`, whose pods mount the
claim template `www`)."""
from __future__ import annotations

import pytest

from tests import live_server
from tests.fixtures import corpus_path

from .conftest import Kubectl

WEB = "application__web__web.yaml"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = live_server.start(tmp_path_factory.mktemp("statefulsets"), extra_env={"PLAYGROUND_START_DELAYS": "0"})
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def kubectl(server, request) -> Kubectl:
    """A fresh cluster per test."""
    return Kubectl(server.new_cluster("alice", request.node.name.replace("_", "-")[:40].strip("-")), server.env)


def test_statefulset_basics_manifest_applies(kubectl):
    first = kubectl("apply", "-f", str(corpus_path(WEB)))
    assert first.splitlines() == ["service/nginx created", "statefulset.apps/web created"]
    template = kubectl.json("get", "statefulset", "web")["spec"]["template"]["spec"]
    assert template["containers"][0]["volumeMounts"] == [{"mountPath": "/usr/share/nginx/html", "name": "www"}]
    assert "volumes" not in template  # the claim template is not turned into a volume of the template
    # As on a real cluster: volumeClaimTemplates is an atomic list the server fills in (apiVersion, kind,
    # volumeMode, status.phase), so kubectl's three-way patch replaces it and says "configured".
    second = kubectl("apply", "-f", str(corpus_path(WEB)))
    assert second.splitlines() == ["service/nginx unchanged", "statefulset.apps/web configured"]
