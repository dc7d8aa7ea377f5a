"""The cluster page's clock bar and node switches: the JSON endpoints and what the live feed tells pages."""
from __future__ import annotations

import json
from datetime import datetime

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.contrib.auth import get_user_model
from django.test import Client

from clusters import actions, selectors
from clusters.models import Cluster

from .helpers import client_of
from .test_live import _communicator, _receive_until, _session_cookie


@pytest.fixture
def lab(transactional_db):
    owner = get_user_model().objects.create_user("alice")
    return actions.cluster_create(owner=owner, name="lab", workers=2)


def _post(client: Client, path: str, body: dict | str | None = None):
    data = body if isinstance(body, str) else json.dumps(body or {})
    return client.post(path, data, content_type="application/json")


def test_pause_speed_resume_and_advance(lab):
    client = client_of(lab.owner)
    paused = _post(client, "/clusters/lab/clock", {"action": "pause"})
    assert paused.status_code == 200 and paused.json()["paused"] is True
    frozen = datetime.fromisoformat(paused.json()["now"])
    lab.refresh_from_db()
    assert lab.paused

    faster = _post(client, "/clusters/lab/clock", {"action": "speed", "speed": 60}).json()
    assert faster["speed"] == 60 and faster["paused"] is True
    assert datetime.fromisoformat(faster["now"]) == frozen  # paused: the speed changes nothing yet

    stepped = _post(client, "/clusters/lab/clock", {"action": "advance", "seconds": 60}).json()
    assert (datetime.fromisoformat(stepped["now"]) - frozen).total_seconds() == pytest.approx(60)

    resumed = _post(client, "/clusters/lab/clock", {"action": "resume"}).json()
    assert resumed["paused"] is False
    lab.refresh_from_db()
    assert (lab.speed, lab.paused) == (60, False)


@pytest.mark.parametrize("body, message", [
    ({"action": "speed", "speed": 100}, "speed must be a number from 1 to 60"),
    ({"action": "speed", "speed": "fast"}, "speed must be a number from 1 to 60"),
    ({"action": "advance", "seconds": -5}, "seconds must be a number from 1 to 3600"),
    ({"action": "advance", "seconds": 10 ** 9}, "seconds must be a number from 1 to 3600"),
    ({"action": "rewind"}, 'action must be one of "pause", "resume", "speed", "advance"'),
    ("[1, 2]", "the request body must be a JSON object"),
    ("{not json", "the request body must be a JSON object"),
])
def test_bad_clock_requests_change_nothing(lab, body, message):
    before = (lab.sim_base, lab.speed, lab.paused)
    response = _post(client_of(lab.owner), "/clusters/lab/clock", body)
    assert response.status_code == 400 and response.json() == {"error": message}
    lab.refresh_from_db()
    assert (lab.sim_base, lab.speed, lab.paused) == before


def test_fail_and_recover_a_node(lab):
    client = client_of(lab.owner)
    response = _post(client, "/clusters/lab/nodes/worker-1/fail")
    assert response.status_code == 200 and response.json() == {"node": "worker-1", "failed": True}
    assert selectors.failed_nodes(lab.pk) == ["worker-1"]
    assert _post(client, "/clusters/lab/nodes/worker-1/recover").json() == {"node": "worker-1", "failed": False}
    assert selectors.failed_nodes(lab.pk) == []
    missing = _post(client, "/clusters/lab/nodes/worker-9/fail")
    assert missing.status_code == 404 and missing.json() == {"error": 'node "worker-9" not found'}


def test_controls_are_the_owners_only_and_csrf_protected(lab):
    intruder = get_user_model().objects.create_user("mallory")
    for path in ("/clusters/lab/clock", "/clusters/lab/nodes/worker-1/fail"):
        assert _post(client_of(intruder), path, {"action": "pause"}).status_code == 404
        signed_out = _post(Client(), path, {"action": "pause"})  # a script's call: JSON, not the login page
        assert signed_out.status_code == 401 and signed_out.json() == {"error": "sign in to use this cluster's page"}
        assert _post(client_of(lab.owner, csrf=True), path, {"action": "pause"}).status_code == 403
        assert client_of(lab.owner).get(path).status_code == 405
    lab.refresh_from_db()
    assert not lab.paused and selectors.failed_nodes(lab.pk) == []


@pytest.mark.django_db(transaction=True)
def test_the_feed_carries_the_clock_and_tells_pages_when_controls_move(lab):
    cookie = _session_cookie(lab.owner)

    async def body():
        communicator = _communicator("/clusters/lab/live", cookie)
        assert (await communicator.connect())[0]
        snapshot = await communicator.receive_json_from(timeout=5)
        assert snapshot["type"] == "snapshot" and snapshot["failedNodes"] == []
        assert snapshot["clock"]["speed"] == 1 and snapshot["clock"]["paused"] is False
        assert snapshot["clock"]["now"].endswith("Z")

        await sync_to_async(actions.cluster_clock)(cluster=lab, pause=True)
        controls = await _receive_until(communicator, lambda m: m["type"] == "controls")
        assert controls["clock"]["paused"] is True and controls["failedNodes"] == []

        await sync_to_async(actions.node_set_failed)(cluster=lab, node="worker-2", failed=True)
        controls = await _receive_until(communicator, lambda m: m["type"] == "controls")
        assert controls["failedNodes"] == ["worker-2"]
        await communicator.disconnect()

    async_to_sync(body)()
    assert Cluster.objects.get(pk=lab.pk).paused

