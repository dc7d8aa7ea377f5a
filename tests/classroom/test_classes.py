"""An instructor's class from start to end: the role, a class, joining and importing, the grid (live),
a learner's page, the helping actions, the CSV — on a small lesson written for the test."""
from __future__ import annotations

import asyncio
import csv
import io
import json
import uuid

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from classroom import access, services
from classroom import views as class_views
from classroom.models import Classroom, Membership
from clusters import selectors
from lessons import catalog as catalog_module
from lessons import progress
from lessons import views as lesson_views
from lessons.models import LessonProgress, StepProgress
from tests.lessons.test_catalog import write
from tests.lessons.test_panel import FILES, cookie_of, create_configmap, set_mode, socket

User = get_user_model()


@pytest.fixture
def lessons(tmp_path, monkeypatch):
    loaded, problems = catalog_module.load(write(tmp_path, FILES))
    assert problems == []
    for module in (progress, lesson_views, services, class_views):
        monkeypatch.setattr(module, "catalog", lambda: loaded)
    return loaded


@pytest.fixture
def teacher(transactional_db):
    user = User.objects.create_user("tina", password="pw-tina")
    call_command("instructor", "grant", "tina")
    return User.objects.get(pk=user.pk)   # permissions cached per instance


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db(transaction=True)
def test_the_role_is_granted_and_revoked_by_the_command(teacher, capsys):
    assert access.is_instructor(teacher)
    call_command("instructor", "list")
    assert "tina" in capsys.readouterr().out
    call_command("instructor", "revoke", "tina")
    assert not access.is_instructor(User.objects.get(pk=teacher.pk))
    with pytest.raises(Exception, match='no user "nobody"'):
        call_command("instructor", "grant", "nobody")


@pytest.mark.django_db(transaction=True)
def test_a_class_is_created_joined_and_imported(lessons, teacher):
    client = client_of(teacher)
    page = client.get("/classes/")
    assert page.status_code == 200 and "New class" in page.content.decode()
    bad = client.post("/classes/new", {"name": "", "lessons": ["basics/mend"]})
    assert bad.status_code == 400
    made = client.post("/classes/new", {"name": "K8s 101", "lessons": ["basics/mend"]})
    classroom = Classroom.objects.get()
    assert made.status_code == 302 and made["Location"] == f"/classes/{classroom.pk}/"
    assert classroom.lessons == ["basics/mend"] and len(classroom.join_code) == 8

    ada = User.objects.create_user("ada")
    learner = client_of(ada)
    assert learner.get(f"/classes/join/{classroom.join_code}").status_code == 200
    assert learner.post(f"/classes/join/{classroom.join_code}").status_code == 302
    assert learner.post(f"/classes/join/{classroom.join_code}").status_code == 302   # twice: still one
    assert list(Membership.objects.values_list("learner__username", flat=True)) == ["ada"]
    assert learner.get("/classes/join/zzzzzzzz").status_code == 404

    upload = io.BytesIO(b"username\nbob\nada\ncyd\nbob\n")
    upload.name = "learners.csv"
    imported = client.post(f"/classes/{classroom.pk}/import", {"learners": upload})
    text = imported.content.decode()
    assert imported.status_code == 200 and imported["Cache-Control"] == "no-store"
    rows = {row.username: row for row in services.learners_import(classroom=classroom, text="dan\n")}
    assert rows["dan"].password and rows["dan"].joined
    bob = User.objects.get(username="bob")
    password = text.split("<th scope=\"row\">bob</th><td><code>", 1)[1].split("</code>", 1)[0]
    assert bob.check_password(password)   # shown once, and it works
    assert "existing account" in text   # ada already had one: no password shown
    assert sorted(Membership.objects.values_list("learner__username", flat=True)) == ["ada", "bob", "cyd", "dan"]
    with pytest.raises(services.ClassError, match='line 2: "no way" is not a user name'):
        services.learners_import(classroom=classroom, text="eve\nno way\n")
    assert not User.objects.filter(username="eve").exists()   # all or nothing


@pytest.mark.django_db(transaction=True)
def test_an_ended_class_takes_no_one(lessons, teacher):
    classroom = services.class_create(instructor=teacher, name="Old", lessons=["basics/mend"])
    Classroom.objects.filter(pk=classroom.pk).update(ends="2020-01-01")
    classroom.refresh_from_db()
    with pytest.raises(services.ClassError, match="ended on 01 January 2020"):
        services.class_join(learner=User.objects.create_user("late"), classroom=classroom)


@pytest.mark.django_db(transaction=True)
def test_the_grid_shows_progress_help_and_stuck_learners(lessons, teacher):
    classroom = services.class_create(instructor=teacher, name="K8s", lessons=["basics/mend"])
    ada, bob = User.objects.create_user("ada"), User.objects.create_user("bob")
    for learner in (ada, bob):
        services.class_join(learner=learner, classroom=classroom)
    started = progress.start(user=ada, lesson=lessons.lesson("basics/mend"))
    panel = progress.Panel.open(started)
    panel.hint()
    grid = services.class_grid(classroom)
    assert [row["learner"] for row in grid["rows"]] == ["ada", "bob"]
    ada_cell, bob_cell = grid["rows"][0]["cells"][0], grid["rows"][1]["cells"][0]
    assert bob_cell == {"lesson": "basics/mend", "state": "new", "step": 0, "steps": 3}
    assert (ada_cell["state"], ada_cell["step"], ada_cell["hints"], ada_cell["stuck"]) == ("started", 0, 1, "")

    # The same check failing after several attempts: stuck, with the reason the panel gives.
    objects = selectors.objects_of_kinds(started.cluster_id, progress.needed_kinds(panel.lesson))
    for _ in range(3):
        panel.evaluate(objects, learner_acted=True)
    row = services.class_row(classroom, ada.pk)
    assert row["cells"][0]["stuck"] == "the same check keeps failing (3 attempts)"
    assert 'data.mode is "broken"' in row["cells"][0]["reason"] and row["stuck"]

    # No progress for the class's stuck minutes.
    StepProgress.objects.filter(progress=started).update(attempts=0, began="2020-01-01T00:00:00Z")
    assert services.class_row(classroom, ada.pk)["cells"][0]["stuck"].startswith("no progress for ")

    # The CSV: one line per learner and lesson.
    lines = list(csv.reader(io.StringIO(services.class_csv(classroom))))
    assert lines[0][:4] == ["learner", "lesson", "title", "state"]
    assert [line[:4] for line in lines[1:]] == [["ada", "basics/mend", "Mend it", "started"],
                                                 ["bob", "basics/mend", "Mend it", "new"]]
    export = client_of(teacher).get(f"/classes/{classroom.pk}/export.csv")
    assert export.status_code == 200 and export["Content-Type"].startswith("text/csv")


@pytest.mark.django_db(transaction=True)
def test_crash_looping_pods_make_a_learner_stand_out(lessons, teacher):
    classroom = services.class_create(instructor=teacher, name="K8s", lessons=["basics/mend"])
    ada = User.objects.create_user("ada")
    services.class_join(learner=ada, classroom=classroom)
    started = progress.start(user=ada, lesson=lessons.lesson("basics/mend"))
    from clusters.models import ApiObject
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "crashy", "namespace": "default"},
           "spec": {"containers": [{"name": "c", "image": "busybox"}]},
           "status": {"phase": "Running", "containerStatuses": [
               {"name": "c", "ready": False, "restartCount": 4,
                "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}}
    # Stored as the kubelet leaves a pod that keeps crashing (the engine's own crash loop is its tests' business).
    ApiObject.objects.create(cluster_id=started.cluster_id, kind="Pod", namespace="default", name="crashy",
                             uid=uuid.uuid4(), data=json.dumps(pod), resource_version=999)
    assert services.class_row(classroom, ada.pk)["stuck"] == ["1 pod crash-looping: crashy"]


@pytest.mark.django_db(transaction=True)
def test_the_grid_updates_live_when_a_step_completes(lessons, teacher):
    classroom = services.class_create(instructor=teacher, name="K8s", lessons=["basics/mend"])
    ada = User.objects.create_user("ada")
    services.class_join(learner=ada, classroom=classroom)
    started = progress.start(user=ada, lesson=lessons.lesson("basics/mend"))
    cookie = cookie_of(teacher)
    learner_cookie = cookie_of(ada)

    async def body():
        grid = socket(f"/classes/{classroom.pk}/live", cookie)
        assert (await grid.connect())[0]
        first = await grid.receive_json_from(timeout=5)
        assert first["type"] == "grid" and first["rows"][0]["cells"][0]["step"] == 0
        panel = socket("/lessons/basics/mend/live", learner_cookie)
        assert (await panel.connect())[0]
        await panel.receive_json_from(timeout=5)
        await sync_to_async(set_mode)(started.cluster, "fixed")
        await sync_to_async(create_configmap)(started.cluster, "extra")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 20   # a busy CI machine: the panel judges, then the grid reads the row
        while True:
            message = await grid.receive_json_from(timeout=max(0.1, deadline - loop.time()))
            if message["type"] == "row" and message["row"]["cells"][0]["step"] == 1:
                break
        assert message["row"]["learner"] == "ada"
        # A learner joining brings a fresh grid.
        await sync_to_async(services.class_join)(learner=await sync_to_async(User.objects.create_user)("bob"),
                                                 classroom=classroom)
        while True:
            message = await grid.receive_json_from(timeout=5)
            if message["type"] == "grid":
                break
        assert [row["learner"] for row in message["rows"]] == ["ada", "bob"]
        await panel.disconnect()
        await grid.disconnect()

    async_to_sync(body)()


@pytest.mark.django_db(transaction=True)
def test_the_instructor_helps_one_learner(lessons, teacher):
    classroom = services.class_create(instructor=teacher, name="K8s", lessons=["basics/mend"])
    ada = User.objects.create_user("ada")
    services.class_join(learner=ada, classroom=classroom)
    started = progress.start(user=ada, lesson=lessons.lesson("basics/mend"))
    set_mode(started.cluster, "fixed")
    client = client_of(teacher)
    page = client.get(f"/classes/{classroom.pk}/learners/ada/")
    text = page.content.decode()
    assert page.status_code == 200 and 'data-read-only="true"' in text
    assert 'data-base="/u/ada/clusters/basics-mend/"' in text and "data-terminal-socket" not in text

    answer = client.post(f"/classes/{classroom.pk}/learners/ada/clock", {"cluster": "basics-mend", "clock": "pause"})
    assert answer.status_code == 302
    assert selectors.cluster_of_user(ada, "basics-mend").paused
    client.post(f"/classes/{classroom.pk}/learners/ada/clock", {"cluster": "basics-mend", "clock": "speed",
                                                                "speed": "10"})
    assert selectors.cluster_of_user(ada, "basics-mend").speed == 10

    client.post(f"/classes/{classroom.pk}/learners/ada/reset", {"lesson": "basics/mend"})
    settings_map = next(obj for _, obj in selectors.objects_of_kinds(started.cluster_id, ("ConfigMap",))
                        if obj["metadata"]["name"] == "settings")
    assert settings_map["data"] == {"mode": "broken"}
    assert LessonProgress.objects.get(pk=started.pk).restarts == 1

    cookie = cookie_of(ada)

    async def message():
        panel = socket("/lessons/basics/mend/live", cookie)
        assert (await panel.connect())[0]
        await panel.receive_json_from(timeout=5)
        await sync_to_async(client.post)(f"/classes/{classroom.pk}/learners/ada/message", {"text": "Look at data"})
        got = await panel.receive_json_from(timeout=5)
        assert got == {"type": "message", "from": "tina", "text": "Look at data"}
        await panel.disconnect()

    async_to_sync(message)()


@pytest.mark.django_db(transaction=True)
def test_a_message_waits_for_the_learners_panel_and_history_pages_by_id(lessons, teacher):
    classroom = services.class_create(instructor=teacher, name="K8s", lessons=["basics/mend"])
    ada = User.objects.create_user("ada")
    services.class_join(learner=ada, classroom=classroom)
    started = progress.start(user=ada, lesson=lessons.lesson("basics/mend"))
    services.learner_message(instructor=teacher, learner=ada, text="Read the ConfigMap first")   # no panel open
    cookie = cookie_of(ada)

    async def body():
        panel = socket("/lessons/basics/mend/live", cookie)
        assert (await panel.connect())[0]
        assert (await panel.receive_json_from(timeout=5))["type"] == "state"
        assert await panel.receive_json_from(timeout=5) == {"type": "message", "from": "tina",
                                                           "text": "Read the ConfigMap first"}
        await panel.disconnect()
        again = socket("/lessons/basics/mend/live", cookie)   # shown once: not again
        assert (await again.connect())[0]
        assert (await again.receive_json_from(timeout=5))["type"] == "state"
        assert await again.receive_nothing(timeout=0.5)
        await again.disconnect()

    async_to_sync(body)()

    from clusters import actions
    first = actions.terminal_record(cluster=started.cluster, line="kubectl get cm", exit_code=0, output="x")
    actions.terminal_record(cluster=started.cluster, line="kubectl get pods", exit_code=1, output="y")
    client = client_of(teacher)
    everything = client.get("/u/ada/clusters/basics-mend/terminal-history").json()["commands"]
    assert [c["line"] for c in everything] == ["kubectl get cm", "kubectl get pods"]
    newer = client.get(f"/u/ada/clusters/basics-mend/terminal-history?after={first.pk}").json()["commands"]
    assert [(c["line"], c["exit"], c["output"]) for c in newer] == [("kubectl get pods", 1, "y")]
    assert client.get("/u/ada/clusters/basics-mend/terminal-history?after=x").status_code == 400
