"""Following a container's output as simulated time passes: `kubectl logs -f` and `kubectl attach`.

A container's output is a replay (clusters.sim.replay), so new lines appear
without any write to the database: the stream re-reads every second of wall
time, and also as soon as the cluster's channel group says something changed
(the container exited, the clock was moved). It ends when the attempt being
followed has exited (a restart starts a new attempt: real `kubectl logs -f`
ends there too) or when the client goes away.

`follow` gives whole log lines (`logs -f`); `follow_text` gives the output as a
terminal attached to the program shows it (`attach`): a line still being
written — `wget -q -O-` printing `OK!` without a newline, in a loop — appears
as it grows.
"""
from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from asgiref.sync import sync_to_async
from django.db import close_old_connections
from django.db.utils import InterfaceError, OperationalError

from clusters import selectors
from clusters.apiserver.errors import ApiError
from clusters.sim import replay
from clusters.sim.replay import ContainerLog, LogLine
from clusters.store import notify

if TYPE_CHECKING:
    from clusters.models import Cluster

RECHECK_SECONDS = 1.0
MAX_FOLLOW_SECONDS = 4 * 3600.0   # a forgotten `kubectl logs -f` does not hold a connection forever


def _keys(lines: list[LogLine]) -> list[tuple[float, int]]:
    """A position for each line that survives the replay keeping only the latest lines: (time, n-th at it)."""
    keys, previous, count = [], None, 0
    for line in lines:
        count = count + 1 if line.time == previous else 0
        previous = line.time
        keys.append((line.time, count))
    return keys


def _after(lines: list[LogLine], position: tuple[float, int] | None) -> tuple[list[LogLine], tuple | None]:
    keys = _keys(lines)
    fresh = [line for line, key in zip(lines, keys) if position is None or key > position]
    return fresh, (keys[-1] if keys else position)


def position_of(log: ContainerLog) -> tuple[float, int] | None:
    keys = _keys(log.lines)
    return keys[-1] if keys else None


async def follow(cluster_id, namespace: str, pod: str, first: ContainerLog,
                 position: tuple[float, int] | None) -> AsyncIterator[LogLine]:
    """The lines of `first`'s attempt after `position`, as they appear, until the attempt exits.

    `first` and `position` are in the cluster's simulated time; the lines come with their times as
    served (moved back by the cluster's served_offset() when they are read: clusters/apiserver/served_time.py),
    as `kubectl logs -f --timestamps` prints them."""
    async for cluster, log in _reads(cluster_id, namespace, pod, first):
        fresh, position = _after(log.lines, position)
        offset = cluster.served_offset()
        for line in fresh:
            yield dataclasses.replace(line, time=line.time - offset) if offset else line


async def follow_text(cluster_id, namespace: str, pod: str, first: ContainerLog) -> AsyncIterator[tuple[str, str]]:
    """What `first`'s attempt writes from now on, as (stream, text), until it exits: each line as soon as any
    of it is there, growing in place while it is written; its line break once the next line begins (or the
    attempt ends). A replay cannot tell a finished last line from one still being written, so the break
    waits for the next line: the text never does."""
    keys = _keys(first.lines)
    position = keys[-1] if keys else None
    sent = len(first.lines[-1].text) if first.lines else 0
    current: str | None = None        # the stream of the line being shown, once something of it was shown
    async for _cluster, log in _reads(cluster_id, namespace, pod, first):
        for line, key in zip(log.lines, _keys(log.lines)):
            if position is not None and key < position:
                continue
            if key == position:
                if len(line.text) > sent:
                    current = line.stream
                    yield line.stream, line.text[sent:]
                    sent = len(line.text)
                continue
            if current is not None:
                yield current, "\n"
            position, sent, current = key, len(line.text), line.stream
            if line.text:
                yield line.stream, line.text
    if current is not None:
        yield current, "\n"


async def _reads(cluster_id, namespace: str, pod: str,
                 first: ContainerLog) -> AsyncIterator[tuple[Cluster, ContainerLog]]:
    """`first`'s attempt read again as time passes (and when the cluster changes), until it exits, with the
    cluster as read then (its clock)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + MAX_FOLLOW_SECONDS
    options = replay.LogOptions(container=first.container)
    async with notify.wakeups(cluster_id) as wait_for_change:
        log = first
        while not log.ended and loop.time() < deadline:
            await wait_for_change(RECHECK_SECONDS)
            try:
                looked = await sync_to_async(_look)(cluster_id, namespace, pod, options, first.attempt)
            except ApiError:
                return  # the pod is gone (or the container can no longer be read): the stream ends
            except (OperationalError, InterfaceError):
                # The database is unreachable: keep following and look again (the broken connection closed,
                # so the next look connects anew), as a watch does. Raised here, it would end the response
                # half-way and leave `kubectl logs -f` hanging.
                continue
            if looked is None:
                return
            cluster, log = looked
            yield cluster, log


def _look(cluster_id, namespace: str, pod: str, options: replay.LogOptions,
          attempt: int) -> tuple[Cluster, ContainerLog] | None:
    """The cluster and the followed attempt's log as they are now; None when the stream ends (the cluster
    gone, or the container restarted twice since). The thread's connection is let go afterwards: back to
    the pool, or closed if it broke (a `logs -f` holds none between its looks)."""
    try:
        cluster = selectors.cluster_by_id(cluster_id)
        if cluster is None:
            return None
        log = replay.container_logs(cluster=cluster, namespace=namespace, pod=pod, options=options)
        if log.attempt != attempt:
            # Restarted between two looks: finish the attempt we were following, then stop.
            options.previous = True
            log = replay.container_logs(cluster=cluster, namespace=namespace, pod=pod, options=options)
            if log.attempt != attempt:
                return None
            log.ended = True
        return cluster, log
    finally:
        close_old_connections()
