"""Starting a lesson, the panel's WebSocket judging its steps live, progress kept, and the pages —
on a small lesson written for the test (the real content is played by tests/e2e/test_lesson_solutions.py)."""
from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.utils import OperationalError
from django.test import Client

from clusters import actions, selectors
from clusters.apiserver import registry
from lessons import catalog as catalog_module
from lessons import progress, views
from lessons.models import LessonProgress, StepProgress
from playground import outage
from playground.asgi import application
from tests.lessons.test_catalog import write

BROKEN = """apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  mode: broken
"""
FILES = {
    "basics/track.yaml": "title: Basics\nsummary: The start.\norder: 1\nlessons: [mend]\n",
    "basics/mend/lesson.yaml": "title: Mend it\nsummary: Fix a setting.\nminutes: 5\n"
                               "setup: {workers: 1, speed: 10, manifests: [broken.yaml], files: [broken.yaml]}\n",
    "basics/mend/broken.yaml": BROKEN,
    "basics/mend/01-fix.md": """---
title: Fix the setting
checks:
  - field: {kind: ConfigMap, name: settings, path: data.mode, value: fixed}
  - exists: {kind: ConfigMap, name: extra}
hints: [Edit broken.yaml., Then apply it.]
solution:
  commands: [kubectl create configmap extra]
---
The ConfigMap `settings` says `mode: broken`.
""",
    "basics/mend/02-look.md": """---
title: Look at it
checks:
  - command: {matches: "^kubectl get (cm|configmaps?)\\\\b"}
solution:
  commands: [kubectl get cm]
---
List the ConfigMaps.
""",
    "basics/mend/03-why.md": """---
title: Why?
question:
  choices: [the kubelet, the API server, kube-proxy]
  answer: the API server
  explanation: Every object is stored through **the API server**.
---
Who stored it?
""",
}


@pytest.fixture
def lesson_catalog(tmp_path, monkeypatch):
    loaded, problems = catalog_module.load(write(tmp_path, FILES))
    assert problems == []
    for module in (progress, views):
        monkeypatch.setattr(module, "catalog", lambda: loaded)
    return loaded


@pytest.fixture
def learner(transactional_db):
    return get_user_model().objects.create_user("ada")


def cookie_of(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode()


def socket(path: str, cookie: bytes | None) -> WebsocketCommunicator:
    headers = [(b"origin", b"http://testserver"), (b"host", b"testserver")]
    if cookie:
        headers.append((b"cookie", cookie))
    return WebsocketCommunicator(application, path, headers=headers)


async def receive_until(communicator, predicate, timeout: float = 8.0) -> dict:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        message = await communicator.receive_json_from(timeout=max(0.1, deadline - loop.time()))
        if predicate(message):
            return message


def set_mode(cluster, mode: str) -> None:
    rt = registry.by_path("", "v1", "configmaps")
    actions.api_call(cluster=cluster, operation=lambda api: api.patch(
        rt, "default", "settings", {"data": {"mode": mode}}, "merge"))


def create_configmap(cluster, name: str) -> None:
    actions.api_call(cluster=cluster, operation=lambda api: api.create(
        registry.by_path("", "v1", "configmaps"), "default",
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}))


@pytest.mark.django_db(transaction=True)
def test_start_prepares_the_cluster_and_restart_starts_over(lesson_catalog, learner):
    lesson = lesson_catalog.lesson("basics/mend")
    first = progress.start(user=learner, lesson=lesson)
    cluster = first.cluster
    assert cluster.name == "basics-mend" and cluster.speed == 10
    nodes = sorted(obj["metadata"]["name"] for _, obj in selectors.objects_of_kinds(cluster.pk, ("Node",)))
    assert nodes == ["control-plane", "worker-1"]
    settings_map = next(obj for _, obj in selectors.objects_of_kinds(cluster.pk, ("ConfigMap",))
                        if obj["metadata"]["name"] == "settings")
    # Created as kubectl apply creates: the learner's own apply of the file patches it cleanly.
    assert "kubectl.kubernetes.io/last-applied-configuration" in settings_map["metadata"]["annotations"]
    assert selectors.editor_files(cluster=cluster) == {"broken.yaml": BROKEN}

    set_mode(cluster, "fixed")
    again = progress.start(user=learner, lesson=lesson)
    assert again.pk == first.pk and again.cluster_id == cluster.pk and again.restarts == 1
    assert again.current_step == 0 and list(again.steps.values_list("index", flat=True)) == [0]
    settings_map = next(obj for _, obj in selectors.objects_of_kinds(cluster.pk, ("ConfigMap",))
                        if obj["metadata"]["name"] == "settings")
    assert settings_map["data"] == {"mode": "broken"}


@pytest.mark.django_db(transaction=True)
def test_a_learners_own_cluster_of_the_same_name_is_never_touched(lesson_catalog, learner):
    mine = actions.cluster_create(owner=learner, name="basics-mend", workers=0)
    started = progress.start(user=learner, lesson=lesson_catalog.lesson("basics/mend"))
    assert started.cluster.name == "basics-mend-2" and started.cluster.pk != mine.pk


@pytest.mark.django_db(transaction=True)
def test_the_panel_ticks_live_and_records_progress(lesson_catalog, learner):
    started = progress.start(user=learner, lesson=lesson_catalog.lesson("basics/mend"))
    cluster = started.cluster
    cookie = cookie_of(learner)

    async def body():
        panel = socket("/lessons/basics/mend/live", cookie)
        assert (await panel.connect())[0]
        state = await panel.receive_json_from(timeout=5)
        assert state["type"] == "state" and state["current"] == 0 and not state["lesson"]["finished"]
        assert [s["title"] for s in state["steps"]] == ["Fix the setting", "Look at it", "Why?"]
        assert "html" in state["steps"][0] and "html" not in state["steps"][1]
        assert state["step"]["checks"] == [
            {"text": "ConfigMap settings: data.mode == fixed", "ok": False,
             "reason": 'ConfigMap settings: data.mode is "broken", not "fixed".'},
            {"text": "ConfigMap extra exists", "ok": False,
             "reason": "There is no ConfigMap named extra in namespace default yet."}]

        # Half of the step: a "checks" message with one tick, the step not done.
        await sync_to_async(set_mode)(cluster, "fixed")
        checks = await receive_until(panel, lambda m: m["type"] == "checks")
        assert [c["ok"] for c in checks["checks"]] == [True, False] and checks["step"] == 0

        # Help: hints one by one, then the solution.
        await panel.send_json_to({"type": "hint"})
        state = await receive_until(panel, lambda m: m["type"] == "state")
        assert state["step"]["hints"] == ["<p>Edit broken.yaml.</p>"] and state["step"]["hintsLeft"] == 1
        await panel.send_json_to({"type": "solution"})
        state = await receive_until(panel, lambda m: m["type"] == "state")
        assert "kubectl create configmap extra" in state["step"]["solution"]

        # The rest of the step: completed by itself, the next step shown.
        await sync_to_async(create_configmap)(cluster, "extra")
        state = await receive_until(panel, lambda m: m["type"] == "state")
        assert state["completed"] == 0 and state["current"] == 1 and state["steps"][0]["done"]
        assert state["step"]["checks"][0]["ok"] is False

        # A command run in the terminal (its history) completes the command step.
        await sync_to_async(actions.terminal_record)(cluster=cluster, line="kubectl get cm", exit_code=0, output="")
        state = await receive_until(panel, lambda m: m["type"] == "state")
        assert state["completed"] == 1 and state["step"]["kind"] == "question"
        assert state["step"]["question"] == {"choices": ["the kubelet", "the API server", "kube-proxy"],
                                             "multiple": False}

        # A wrong answer is said to be wrong (no explanation yet); the right one finishes the lesson.
        await panel.send_json_to({"type": "answer", "answer": 0})
        state = await receive_until(panel, lambda m: m["type"] == "state")
        assert state["step"]["answer"] == {"given": 0, "correct": False, "explanation": ""}
        await panel.send_json_to({"type": "answer", "answer": "the API server"})   # not an index: wrong too
        await panel.send_json_to({"type": "answer", "answer": 1})
        state = await receive_until(panel, lambda m: m["type"] == "state" and m.get("completed") == 2)
        assert state["lesson"]["finished"] and state["step"] is None and state["current"] == 3
        assert "<strong>the API server</strong>" in state["answered"]["explanation"]
        await panel.disconnect()

    async_to_sync(body)()
    row = LessonProgress.objects.get(pk=started.pk)
    assert row.finished is not None and row.current_step == 3
    steps = {s.index: s for s in StepProgress.objects.filter(progress=row)}
    assert all(s.completed for s in steps.values())
    assert (steps[0].hints, steps[0].solution) == (1, True)
    assert (steps[2].attempts, steps[2].answer, steps[2].answer_correct) == (2, 1, True)


@pytest.mark.django_db(transaction=True)
def test_only_the_learner_who_started_it_reaches_the_panel(lesson_catalog, learner):
    progress.start(user=learner, lesson=lesson_catalog.lesson("basics/mend"))
    mallory = get_user_model().objects.create_user("mallory")
    hers, his = cookie_of(mallory), cookie_of(learner)

    async def body():
        for path, cookie in [("/lessons/basics/mend/live", hers),                 # not hers
                             ("/lessons/basics/nope/live", his),                  # no such lesson
                             ("/lessons/basics/mend/live", None)]:                 # anonymous
            communicator = socket(path, cookie)
            await communicator.connect()
            assert await communicator.receive_output(timeout=5) == {"type": "websocket.close", "code": 4403}, path
            await communicator.disconnect()

    async_to_sync(body)()


@pytest.mark.django_db(transaction=True)
def test_pages_catalog_intro_start_and_lesson(lesson_catalog, learner):
    anonymous = Client()
    assert anonymous.get("/lessons/").status_code == 200
    assert anonymous.post("/lessons/basics/mend/start").status_code == 302   # to the login page
    assert not LessonProgress.objects.exists()

    client = Client()
    client.force_login(learner)
    page = client.get("/lessons/")
    assert page.status_code == 200 and "Mend it" in page.content.decode()
    intro = client.get("/lessons/basics/mend/")
    assert intro.status_code == 200 and "Fix the setting" in intro.content.decode()
    assert client.get("/lessons/basics/nope/").status_code == 404
    assert client.post("/lessons/basics/nope/start").status_code == 404
    assert client.get("/lessons/basics/mend/start").status_code == 405

    started = client.post("/lessons/basics/mend/start")
    assert started.status_code == 302 and started["Location"] == "/lessons/basics/mend/"
    page = client.get("/lessons/basics/mend/")
    text = page.content.decode()
    assert page.status_code == 200 and 'data-socket="/lessons/basics/mend/live"' in text
    assert 'data-cluster="basics-mend"' in text
    assert progress.catalog_view(learner)[0]["lessons"][0]["state"] == "started"


@pytest.mark.django_db(transaction=True)
def test_a_request_the_database_cannot_serve_is_answered_and_the_panel_stays(lesson_catalog, learner, monkeypatch):
    progress.start(user=learner, lesson=lesson_catalog.lesson("basics/mend"))
    cookie = cookie_of(learner)
    real_hint = progress.Panel.hint

    def unreachable(panel):
        raise OperationalError("connection to server failed: Connection refused")

    async def body():
        panel = socket("/lessons/basics/mend/live", cookie)
        assert (await panel.connect())[0]
        assert (await panel.receive_json_from(timeout=5))["type"] == "state"
        monkeypatch.setattr(progress.Panel, "hint", unreachable)
        await panel.send_json_to({"type": "hint"})
        # Said, not silently dropped: the button is not left waiting for an answer that never comes.
        assert await receive_until(panel, lambda m: m["type"] == "unavailable") == {
            "type": "unavailable", "text": outage.MESSAGE}
        monkeypatch.setattr(progress.Panel, "hint", real_hint)
        await panel.send_json_to({"type": "hint"})       # the same socket, once the database is back
        state = await receive_until(panel, lambda m: m["type"] == "state")
        assert state["step"]["hints"] == ["<p>Edit broken.yaml.</p>"]
        await panel.disconnect()

    async_to_sync(body)()
    assert StepProgress.objects.get(progress__user=learner, index=0).hints == 1


def _ready_at_the_command_step(lesson_catalog, learner):
    started = progress.start(user=learner, lesson=lesson_catalog.lesson("basics/mend"))
    set_mode(started.cluster, "fixed")
    create_configmap(started.cluster, "extra")     # step 0 holds: the panel completes it when it opens
    return started


def _attempts(started, index: int) -> int:
    return StepProgress.objects.get(progress=started, index=index).attempts


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("wakeups", ["lost", "delivered"])
def test_a_terminal_line_is_judged_once_whether_or_not_its_wake_up_arrives(lesson_catalog, learner, monkeypatch,
                                                                           wakeups):
    """A terminal line moves no resourceVersion: when its "cluster.terminal" wake-up is lost (Redis away), the
    panel's re-check finds it by the newest line's id and judges it, counted as one attempt; when the wake-up
    arrives as well, the line is still one attempt."""
    from clusters.store import notify
    from lessons import consumer

    started = _ready_at_the_command_step(lesson_catalog, learner)
    cluster = started.cluster
    monkeypatch.setattr(consumer, "RECHECK_SECONDS", 0.3)
    if wakeups == "lost":
        monkeypatch.setattr(notify, "terminal_ran", lambda cluster_id, command_id: None)
    cookie = cookie_of(learner)

    async def body():
        panel = socket("/lessons/basics/mend/live", cookie)
        assert (await panel.connect())[0]
        state = await receive_until(panel, lambda m: m["type"] == "state" and m["current"] == 1)
        assert state["step"]["checks"][0]["ok"] is False
        await sync_to_async(actions.terminal_record)(cluster=cluster, line="kubectl get pods", exit_code=0,
                                                     output="")
        await asyncio.sleep(1.5)                       # a few re-checks
        assert await sync_to_async(_attempts)(started, 1) == 1
        await sync_to_async(actions.terminal_record)(cluster=cluster, line="kubectl get cm", exit_code=0, output="")
        state = await receive_until(panel, lambda m: m["type"] == "state" and m.get("completed") == 1, timeout=5)
        assert state["step"]["kind"] == "question"
        await panel.disconnect()

    async_to_sync(body)()
    assert _attempts(started, 1) == 1
