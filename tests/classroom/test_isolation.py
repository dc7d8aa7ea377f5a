"""Who reaches whose data, door by door, role by role.

The world: ann and abe are learners in class A (taught by ida), bea a learner in class B (taught by ivo),
ops an operator (staff, superuser). Every learner has a cluster named "lab" (the same name on purpose),
ann has started a lesson. Each test attacks one door with every role and says who gets in:

* a learner: their own clusters, lesson panel and terminal — nobody else's, by any door;
* an instructor: the clusters of the learners of their own classes, read-only (the reads under
  /u/<learner>/…, the live feed), their classes' grid, learner pages and helping actions — never another
  instructor's class or learners, never a learner's terminal, token, editor writes or clock door;
* an operator: the admin — and otherwise only what is theirs.

A refused read or write answers as if the thing did not exist (404, or 4403 for a WebSocket).
"""
from __future__ import annotations

import json

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth import get_user_model
from django.test import Client

from classroom import access, services
from classroom import views as class_views
from clusters import actions
from lessons import catalog as catalog_module
from lessons import progress
from lessons import views as lesson_views
from tests.lessons.test_catalog import write
from tests.lessons.test_panel import FILES, cookie_of, socket

User = get_user_model()
ROLES = ("ann", "abe", "bea", "ida", "ivo", "ops", "anonymous")
LEARNERS = ("ann", "abe", "bea")
CLASS_OF = {"ann": "A", "abe": "A", "bea": "B"}
TEACHER_OF = {"A": "ida", "B": "ivo"}


def may_see(role: str, learner: str) -> bool:
    """The rule every door must follow for a learner's cluster reads."""
    return role == learner or TEACHER_OF.get(CLASS_OF[learner]) == role


@pytest.fixture
def world(tmp_path, monkeypatch, transactional_db):
    loaded, problems = catalog_module.load(write(tmp_path, FILES))
    assert problems == []
    for module in (progress, lesson_views, services, class_views):
        monkeypatch.setattr(module, "catalog", lambda: loaded)
    users = {name: User.objects.create_user(name, password=f"pw-{name}") for name in ROLES if name != "anonymous"}
    User.objects.filter(username="ops").update(is_staff=True, is_superuser=True)
    for name in ("ida", "ivo"):
        access.grant(users[name])
    users = {name: User.objects.get(pk=user.pk) for name, user in users.items()}
    classes = {"A": services.class_create(instructor=users["ida"], name="A", lessons=["basics/mend"]),
               "B": services.class_create(instructor=users["ivo"], name="B", lessons=["basics/mend"])}
    clusters = {}
    for learner in LEARNERS:
        services.class_join(learner=users[learner], classroom=classes[CLASS_OF[learner]])
        clusters[learner] = actions.cluster_create(owner=users[learner], name="lab", workers=1)
        actions.file_save(cluster=clusters[learner], name=f"{learner}.yaml", text=f"# {learner}'s secret\n")
        actions.terminal_record(cluster=clusters[learner], line=f"kubectl get pods # {learner}", exit_code=0,
                                output=f"{learner}'s output")
    progress.start(user=users["ann"], lesson=loaded.lesson("basics/mend"))
    return {"users": users, "classes": classes, "clusters": clusters}


def client(world, role: str) -> Client:
    c = Client()
    if role != "anonymous":
        c.force_login(world["users"][role])
    return c


# (Object details print with the real kubectl against a live API: tests/e2e cover them; they take the
# same lookup, selectors.cluster_for_viewer.)
VIEWER_READS = ["files", "metrics", "terminal-history"]


@pytest.mark.django_db(transaction=True)
def test_a_learners_cluster_reads_under_u(world):
    for role in ROLES:
        c = client(world, role)
        for learner in LEARNERS:
            for read in VIEWER_READS:
                answer = c.get(f"/u/{learner}/clusters/lab/{read}")
                expected = 200 if may_see(role, learner) else 401 if role == "anonymous" else 404
                assert answer.status_code == expected, (role, learner, read, answer.status_code)
                if read == "files" and expected == 200:
                    assert [f["name"] for f in answer.json()["files"]] == [f"{learner}.yaml"]
                if read == "terminal-history" and expected == 200:
                    assert [c_["line"] for c_ in answer.json()["commands"]] == [f"kubectl get pods # {learner}"]
            traffic = c.post(f"/u/{learner}/clusters/lab/services/default/kubernetes/traffic", "{}",
                             content_type="application/json")
            assert (traffic.status_code != 404 and traffic.status_code != 401) == may_see(role, learner), \
                (role, learner, traffic.status_code)


@pytest.mark.django_db(transaction=True)
def test_no_write_door_exists_for_viewers(world):
    """Under /u/<learner>/ there are reads only: the editor, clock, nodes, reset, delete, kubeconfig and terminal
    are the owner's own doors (looked up by their own name), for an instructor too."""
    for role in ("ida", "ops", "abe"):
        c = client(world, role)
        for door, method in (("files/ann.yaml", "put"), ("files/ann.yaml", "delete"), ("clock", "post"),
                             ("nodes/worker-1/fail", "post"), ("reset", "post"), ("delete", "post"),
                             ("kubeconfig", "post"), ("validate", "post"), ("", "get")):
            path = f"/u/ann/clusters/lab/{door}"
            answer = c.get(path) if method == "get" else \
                getattr(c, method)(path, "{}", content_type="application/json")
            assert answer.status_code in (404, 405), (role, door, answer.status_code)
    # The owner's own doors, by name, reach only one's own cluster: ida has no "lab" at all.
    ida = client(world, "ida")
    assert ida.get("/clusters/lab/").status_code == 404
    assert ida.post("/clusters/lab/kubeconfig").status_code == 404
    assert ida.put("/clusters/lab/files/x.yaml", json.dumps({"text": "x"}), content_type="application/json"
                   ).status_code == 404
    # abe's "lab" is abe's: ann's file is not in it.
    files = client(world, "abe").get("/clusters/lab/files").json()["files"]
    assert [f["name"] for f in files] == ["abe.yaml"]
    assert world["clusters"]["ann"].files.get().text == "# ann's secret\n"


@pytest.mark.django_db(transaction=True)
def test_class_pages_and_helping_actions(world):
    a, b = world["classes"]["A"].pk, world["classes"]["B"].pk
    for role in ROLES:
        c = client(world, role)
        for class_id, teacher in ((a, "ida"), (b, "ivo")):
            mine = role == teacher
            for path in (f"/classes/{class_id}/", f"/classes/{class_id}/export.csv"):
                answer = c.get(path)
                assert answer.status_code == (200 if mine else 302 if role == "anonymous" else 404), (role, path)
            for learner in LEARNERS:
                allowed = mine and CLASS_OF[learner] == ("A" if class_id == a else "B")
                page = c.get(f"/classes/{class_id}/learners/{learner}/")
                assert page.status_code == (200 if allowed else 302 if role == "anonymous" else 404), \
                    (role, class_id, learner, page.status_code)
                message = c.post(f"/classes/{class_id}/learners/{learner}/message", {"text": "hi"})
                assert message.status_code == (302 if allowed or role == "anonymous" else 404), (role, learner)
                clock = c.post(f"/classes/{class_id}/learners/{learner}/clock", {"cluster": "lab", "clock": "pause"})
                assert clock.status_code in ((302,) if allowed or role == "anonymous" else (404,))
    paused = {learner: world["clusters"][learner].__class__.objects.get(pk=world["clusters"][learner].pk).paused
              for learner in LEARNERS}
    assert paused == {"ann": True, "abe": True, "bea": True}   # each by their own instructor only
    # Importing into another instructor's class: 404, nobody created.
    assert client(world, "ivo").post(f"/classes/{a}/import", {"names": "mole\n"}).status_code == 404
    assert not User.objects.filter(username="mole").exists()
    # A learner is not an instructor: no class of their own, no new class.
    assert client(world, "ann").post("/classes/new", {"name": "mine", "lessons": ["basics/mend"]}).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_websockets(world):
    cookies = {role: cookie_of(world["users"][role]) for role in ROLES if role != "anonymous"}
    cookies["anonymous"] = None
    a, b = world["classes"]["A"].pk, world["classes"]["B"].pk

    async def opens(path: str, cookie) -> bool:
        communicator = socket(path, cookie)
        try:
            connected, _ = await communicator.connect()
        except ValueError:   # no route at all (channels raises for an unknown path)
            return False
        if not connected:
            return False
        try:
            first = await communicator.receive_output(timeout=1)
        except TimeoutError:   # accepted and quiet (the terminal waits for a command); the test ended it
            return True
        await communicator.disconnect()
        return first.get("type") != "websocket.close"

    async def body():
        for role in ROLES:
            cookie = cookies[role]
            for learner in LEARNERS:
                assert await opens(f"/u/{learner}/clusters/lab/live", cookie) == may_see(role, learner), \
                    (role, learner)
                assert not await opens(f"/u/{learner}/clusters/lab/terminal", cookie), (role, learner)
            assert await opens("/clusters/lab/live", cookie) == (role in LEARNERS)   # one's own "lab" only
            assert await opens("/clusters/lab/terminal", cookie) == (role in LEARNERS)
            assert await opens("/lessons/basics/mend/live", cookie) == (role == "ann")
            assert await opens(f"/classes/{a}/live", cookie) == (role == "ida")
            assert await opens(f"/classes/{b}/live", cookie) == (role == "ivo")

    async_to_sync(body)()


@pytest.mark.django_db(transaction=True)
def test_kubernetes_api_tokens_open_one_cluster_only(world):
    tokens = {learner: actions.token_issue(cluster=world["clusters"][learner]) for learner in LEARNERS}
    anonymous = Client()
    for holder, token in tokens.items():
        for learner in LEARNERS:
            answer = anonymous.get(f"/clusters/{world['clusters'][learner].pk}/api/v1/namespaces/default/configmaps",
                                   HTTP_AUTHORIZATION=f"Bearer {token}")
            assert (answer.status_code == 200) == (holder == learner), (holder, learner, answer.status_code)
    # A session is no token: an instructor's browser gets no API access to a learner's cluster.
    ida = client(world, "ida")
    answer = ida.get(f"/clusters/{world['clusters']['ann'].pk}/api/v1/namespaces/default/configmaps")
    assert answer.status_code in (401, 403)


@pytest.mark.django_db(transaction=True)
def test_the_admin_is_for_operators(world):
    for role in ROLES:
        answer = client(world, role).get("/admin/")
        assert answer.status_code == (200 if role == "ops" else 302), role
