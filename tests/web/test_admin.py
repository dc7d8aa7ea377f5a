"""The operator's admin at /admin/: only staff reach it; the clusters' list and its actions; the CSV exports."""
from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from clusters import actions
from clusters.models import ApiObject, Cluster
from lessons.models import LessonProgress, StepProgress

from .helpers import client_of

CHANGELIST = "/admin/clusters/cluster/"


@pytest.fixture
def operator(db):
    return get_user_model().objects.create_superuser("root", "root@example.org", "pw")


@pytest.fixture
def lab(db):
    owner = get_user_model().objects.create_user("alice")
    cluster = actions.cluster_create(owner=owner, name="lab", workers=1)
    actions.token_issue(cluster=cluster)
    return cluster


def _act(client: Client, action: str, *clusters: Cluster, **extra):
    return client.post(CHANGELIST, {"action": action, "_selected_action": [str(c.pk) for c in clusters], **extra})


def _csv(response) -> list[dict]:
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_only_staff_reach_the_admin(lab):
    anonymous = Client().get(CHANGELIST)
    assert anonymous.status_code == 302 and "/admin/login/" in anonymous["Location"]
    learner = client_of(lab.owner).get(CHANGELIST)
    assert learner.status_code == 302 and "/admin/login/" in learner["Location"]
    staff_without_rights = get_user_model().objects.create_user("ta", is_staff=True)
    assert client_of(staff_without_rights).get(CHANGELIST).status_code == 403


def test_the_list_shows_owner_size_activity_and_state(operator, lab):
    client = client_of(operator)
    page = client.get(CHANGELIST)
    assert page.status_code == 200
    row = page.context["cl"].result_list[0]
    assert row.object_count == ApiObject.objects.filter(cluster=lab).count() > 10
    assert row.stored_bytes > sum(len(d) for d in ApiObject.objects.filter(cluster=lab).values_list("data", flat=True))
    assert row.token_count == 1
    text = page.content.decode()
    assert "alice" in text and "running" in text
    assert client.get(CHANGELIST, {"q": "alice"}).context["cl"].result_count == 1
    assert client.get(CHANGELIST, {"q": "nobody"}).context["cl"].result_count == 0
    assert client.get(CHANGELIST, {"state": "stopped"}).context["cl"].result_count == 0
    assert client.get(f"{CHANGELIST}{lab.pk}/change/").status_code == 200   # the tokens inline, read-only


def test_reset_action(operator, lab):
    ApiObject.objects.filter(cluster=lab, kind="ConfigMap").delete()   # something to put back
    before = lab.seed
    response = _act(client_of(operator), "reset_clusters", lab)
    assert response.status_code == 302
    lab.refresh_from_db()
    assert lab.seed != before
    assert ApiObject.objects.filter(cluster=lab, kind="ConfigMap").exists()


def test_stop_action(operator, lab):
    _act(client_of(operator), "stop_clusters", lab)
    lab.refresh_from_db()
    assert lab.stopped is not None and lab.paused and lab.next_wake is None
    assert client_of(operator).get(CHANGELIST, {"state": "stopped"}).context["cl"].result_count == 1


def test_delete_action_confirms_with_a_summary_then_deletes(operator, lab):
    client = client_of(operator)
    other = actions.cluster_create(owner=lab.owner, name="keep", workers=0)
    confirm = _act(client, "delete_selected", lab)
    assert confirm.status_code == 200 and b"Kubernetes objects" in confirm.content
    assert Cluster.objects.filter(pk=lab.pk).exists()
    done = _act(client, "delete_selected", lab, post="yes")
    assert done.status_code == 302
    assert not Cluster.objects.filter(pk=lab.pk).exists()
    assert not ApiObject.objects.filter(cluster_id=lab.pk).exists()
    assert Cluster.objects.filter(pk=other.pk).exists()


def test_clusters_csv(operator, lab):
    rows = _csv(_act(client_of(operator), "export_csv", lab))
    assert [(r["owner"], r["name"], r["state"], r["tokens"]) for r in rows] == [("alice", "lab", "running", "1")]
    assert int(rows[0]["objects"]) > 10 and int(rows[0]["stored_bytes"]) > 1000


def test_lesson_progress_admin_and_csv(operator, lab):
    now = timezone.now()
    progress = LessonProgress.objects.create(user=lab.owner, lesson="basics/pods", cluster=lab, current_step=1,
                                             started=now, first_started=now)
    StepProgress.objects.create(progress=progress, index=0, began=now, completed=now, hints=2, solution=True)
    StepProgress.objects.create(progress=progress, index=1, began=now, hints=1)
    client = client_of(operator)
    listing = client.get("/admin/lessons/lessonprogress/")
    assert listing.status_code == 200
    row = listing.context["cl"].result_list[0]
    assert (row.steps_done, row.hints_used, row.solutions_shown) == (1, 3, 1)
    assert client.get(f"/admin/lessons/lessonprogress/{progress.pk}/change/").status_code == 200
    rows = _csv(client.post("/admin/lessons/lessonprogress/",
                            {"action": "export_csv", "_selected_action": [progress.pk]}))
    assert [(r["user"], r["lesson"], r["current_step"], r["steps_done"], r["hints"], r["solutions"], r["finished"])
            for r in rows] == [("alice", "basics/pods", "2", "1", "3", "1", "")]
    steps = _csv(client.post("/admin/lessons/stepprogress/", {
        "action": "export_csv", "_selected_action": list(progress.steps.values_list("pk", flat=True))}))
    assert [(s["step"], s["hints"], s["solution"], bool(s["completed"])) for s in steps] == [
        ("1", "2", "yes", True), ("2", "1", "no", False)]
    assert client.get("/admin/auth/user/").status_code == 200
