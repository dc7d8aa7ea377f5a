"""One `serve` runs at most TERMINAL_PROCESSES kubectl processes at once, whoever's terminals they come from;
more wait for a turn, first come first served, and each run's task limit leaves room for the others."""
from __future__ import annotations

import asyncio

from clusters.terminal import confine
from clusters.terminal import sandbox as sandbox_module
from clusters.terminal.sandbox import Sandbox, server_slot


def test_runs_beyond_the_servers_share_wait_their_turn(settings):
    settings.PLAYGROUND = {**settings.PLAYGROUND, "TERMINAL_PROCESSES": 2}
    running, most, started = 0, 0, []

    async def one(index: int) -> None:
        nonlocal running, most
        async with server_slot():
            running += 1
            most = max(most, running)
            started.append(index)
            await asyncio.sleep(0.05)
            running -= 1

    async def main() -> None:
        await asyncio.gather(*(one(index) for index in range(5)))

    asyncio.run(main())
    assert most == 2 and started == [0, 1, 2, 3, 4]
    asyncio.run(main())   # another event loop (another test, a restarted server): its own slots
    assert most == 2


def test_a_runs_task_limit_leaves_room_for_every_other_run(settings, tmp_path, monkeypatch):
    # RLIMIT_NPROC counts the tasks of the one user all runs share: a run started when few others ran must
    # still start threads once the server runs its whole share (else kubectl dies: "failed to create new OS
    # thread").
    settings.PLAYGROUND = {**settings.PLAYGROUND, "TERMINAL_PROCESSES": 5, "SERVE_PROCESSES": 3}
    monkeypatch.setattr(sandbox_module, "_programs", lambda kubectl: ((), ()))
    conf = sandbox_module.confinement(Sandbox(tmp_path, "token"))
    assert conf.task_allowance == 5 * 3 * confine.TASKS_PER_PROCESS


def test_the_users_tasks_are_counted_at_most_every_few_seconds(tmp_path, monkeypatch):
    """Counting reads every /proc/<pid>/status: runs starting close together share one count."""
    counts = []

    def tasks_of(uid: int) -> int:
        counts.append(uid)
        return 7 * len(counts)

    clock = [1000.0]
    monkeypatch.setattr(confine, "tasks_of", tasks_of)
    monkeypatch.setattr(sandbox_module.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(sandbox_module, "_task_count", None)
    monkeypatch.setattr(sandbox_module, "_programs", lambda kubectl: ((), ()))
    box = Sandbox(tmp_path, "token")
    first = sandbox_module.confinement(box)
    clock[0] += sandbox_module.TASK_COUNT_SECONDS / 2
    second = sandbox_module.confinement(box)
    assert first.tasks_now == second.tasks_now == 7 and len(counts) == 1
    clock[0] += sandbox_module.TASK_COUNT_SECONDS
    assert sandbox_module.confinement(box).tasks_now == 14 and len(counts) == 2
    with sandbox_module.confinement(box).prepare() as prepared:
        assert dict(prepared.limits)[confine.resource.RLIMIT_NPROC][0] == 14 + first.task_allowance
