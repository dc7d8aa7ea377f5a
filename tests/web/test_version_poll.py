"""The process's look at the clusters it streams (clusters/store/version_poll.py): the net under lost wake-ups.

A stream is woken by a look only when its cluster moved past what it has read; a page and a watch whose
wake-up message was lost still get the change, long before their own fallback re-read.
"""
from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.contrib.auth import get_user_model
from django.db.utils import OperationalError

from clusters import actions
from clusters.models import Cluster
from clusters.store import notify, version_poll
from clusters.web import consumer
from tests.web.test_live import _communicator, _create_configmap, _receive_until, _session_cookie


@pytest.fixture
def lab(transactional_db):
    owner = get_user_model().objects.create_user("alice")
    return actions.cluster_create(owner=owner, name="lab", workers=1)


def _rv(cluster: Cluster) -> int:
    return Cluster.objects.get(pk=cluster.pk).resource_version


@pytest.fixture
def no_wakeups(monkeypatch):
    """Every wake-up message lost, as while Redis restarts."""
    monkeypatch.setattr(notify, "_publish", lambda cluster_id, message: None)


def test_a_look_wakes_only_the_streams_behind_their_cluster(lab):
    async def body():
        behind, current = version_poll.subscribe(lab.pk), version_poll.subscribe(lab.pk)
        rv = await sync_to_async(_rv)(lab)
        current.saw(rv)
        await version_poll.look_now()
        assert await behind.moved(0.2) and behind.seen == rv      # a new subscription is woken once
        assert not await current.moved(0.2)
        await version_poll.look_now()
        assert not await behind.moved(0.2)                         # nothing moved since

        await sync_to_async(_create_configmap)(lab, "one")
        moved_to = await sync_to_async(_rv)(lab)
        current.saw(moved_to)                                      # its wake-up arrived: it read already
        await version_poll.look_now()
        assert await behind.moved(0.2) and behind.seen == moved_to
        assert not await current.moved(0.2)
        for subscription in (behind, current):
            version_poll.unsubscribe(subscription)

    async_to_sync(body)()


def test_a_deleted_cluster_and_the_database_coming_back_wake_every_stream(lab, monkeypatch):
    async def body():
        subscription = version_poll.subscribe(lab.pk)
        subscription.saw(await sync_to_async(_rv)(lab))
        real = version_poll._versions

        def unreachable(cluster_ids):
            raise OperationalError("connection refused")

        monkeypatch.setattr(version_poll, "_versions", unreachable)
        await version_poll.look_now()
        assert not await subscription.moved(0.2)
        monkeypatch.setattr(version_poll, "_versions", real)
        await version_poll.look_now()
        # Nothing moved, but a read the stream tried during the outage may have failed.
        assert await subscription.moved(0.2)
        await version_poll.look_now()
        assert not await subscription.moved(0.2)

        await sync_to_async(Cluster.objects.filter(pk=lab.pk).delete)()
        await version_poll.look_now()
        assert await subscription.moved(0.2)
        version_poll.unsubscribe(subscription)

    async_to_sync(body)()


def test_a_page_whose_wake_up_was_lost_gets_the_change_at_the_next_look(lab, no_wakeups, monkeypatch):
    monkeypatch.setattr(version_poll, "POLL_SECONDS", 0.3)
    cookie = _session_cookie(lab.owner)

    async def body():
        page = _communicator("/clusters/lab/live", cookie)
        assert (await page.connect())[0]
        assert (await page.receive_json_from(timeout=5))["type"] == "snapshot"
        await sync_to_async(_create_configmap)(lab, "unannounced")
        started = asyncio.get_running_loop().time()
        await _receive_until(page, lambda m: m["type"] == "changes" and any(
            c["name"] == "unannounced" for c in m["changes"]), timeout=5)
        assert asyncio.get_running_loop().time() - started < consumer.RECHECK_SECONDS / 10
        await page.disconnect()

    async_to_sync(body)()


def test_a_stream_whose_wake_up_was_lost_is_woken_by_the_next_look(lab, no_wakeups, monkeypatch):
    monkeypatch.setattr(version_poll, "POLL_SECONDS", 0.3)

    async def body():
        loop = asyncio.get_running_loop()
        async with notify.wakeups(lab.pk) as wait:
            await wait(5)        # the first look wakes a new subscription: a write may have come before it
            await sync_to_async(_create_configmap)(lab, "unannounced")
            started = loop.time()
            await wait(30)
            assert loop.time() - started < 3
            started = loop.time()
            await wait(1)        # nothing moved since: only the timeout ends the wait
            assert loop.time() - started >= 0.9

    async_to_sync(body)()
