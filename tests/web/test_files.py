"""The manifest editor's files (clusters/web/PAGE.md, "Manifest files"): CRUD, name rules, limits, tab
order, owner-only, CSRF."""
from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from clusters import actions
from clusters.models import ManifestFile

from .helpers import client_of

pytestmark = pytest.mark.django_db

DEPLOYMENT = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n"


@pytest.fixture
def lab():
    owner = get_user_model().objects.create_user("alice")
    return actions.cluster_create(owner=owner, name="lab", workers=1)


def _put(client: Client, path: str, body) -> object:
    return client.put(path, body if isinstance(body, str) else json.dumps(body), content_type="application/json")


def test_create_list_replace_delete(lab):
    client = client_of(lab.owner)
    assert client.get("/clusters/lab/files").json() == {"files": []}

    created = _put(client, "/clusters/lab/files/web.yaml", {"text": DEPLOYMENT})
    assert created.status_code == 201
    assert created.json()["name"] == "web.yaml" and created.json()["text"] == DEPLOYMENT
    assert created.json()["updated"]

    replaced = _put(client, "/clusters/lab/files/web.yaml", {"text": "kind: Pod\n"})
    assert replaced.status_code == 200 and replaced.json()["text"] == "kind: Pod\n"
    files = client.get("/clusters/lab/files").json()["files"]
    assert [(f["name"], f["text"]) for f in files] == [("web.yaml", "kind: Pod\n")]
    assert ManifestFile.objects.filter(cluster=lab).count() == 1

    assert client.delete("/clusters/lab/files/web.yaml").status_code == 204
    assert client.get("/clusters/lab/files").json() == {"files": []}
    gone = client.delete("/clusters/lab/files/web.yaml")
    assert gone.status_code == 404 and gone.json() == {"error": 'file "web.yaml" not found'}


def test_tab_order_is_creation_order_and_survives_replace_and_delete(lab):
    client = client_of(lab.owner)
    for name in ("zeta.yaml", "alpha.yaml", "mid.yaml", "b.yml"):
        assert _put(client, f"/clusters/lab/files/{name}", {"text": name}).status_code == 201
    _put(client, "/clusters/lab/files/zeta.yaml", {"text": "changed"})  # replacing keeps its tab
    client.delete("/clusters/lab/files/alpha.yaml")
    _put(client, "/clusters/lab/files/alpha.yaml", {"text": "back"})    # a new file is the last tab
    names = [f["name"] for f in client.get("/clusters/lab/files").json()["files"]]
    assert names == ["zeta.yaml", "mid.yaml", "b.yml", "alpha.yaml"]


@pytest.mark.parametrize("name", ["-lead.yaml", ".hidden", "sp ace.yaml", "a" * 101, "ünï.yaml", "a:b.yaml"])
def test_file_name_rules(lab, name):
    response = _put(client_of(lab.owner), f"/clusters/lab/files/{name}", {"text": ""})
    assert response.status_code == 400
    assert response.json()["error"].startswith(f'invalid file name "{name}": use letters, digits')
    assert not ManifestFile.objects.exists()


@pytest.mark.parametrize("name", ["a", "web.yaml", "My_File-2.YML", "9" + "x" * 99])
def test_good_file_names(lab, name):
    assert _put(client_of(lab.owner), f"/clusters/lab/files/{name}", {"text": ""}).status_code == 201


def test_at_most_twenty_files(lab):
    client = client_of(lab.owner)
    for i in range(actions.MAX_FILES):
        assert _put(client, f"/clusters/lab/files/f{i}.yaml", {"text": ""}).status_code == 201
    refused = _put(client, "/clusters/lab/files/one-more.yaml", {"text": ""})
    assert refused.status_code == 400
    assert refused.json()["error"] == ('cannot create file "one-more.yaml": a cluster keeps at most 20 files; '
                                       "delete one first")
    assert _put(client, "/clusters/lab/files/f3.yaml", {"text": "still replaceable"}).status_code == 200
    assert ManifestFile.objects.filter(cluster=lab).count() == 20


def test_file_size_is_the_request_size_limit(lab, settings):
    settings.PLAYGROUND = {**settings.PLAYGROUND, "MAX_REQUEST_BYTES": 1000}
    client = client_of(lab.owner)
    assert _put(client, "/clusters/lab/files/ok.yaml", {"text": "#" * 1000}).status_code == 201
    # Bytes, not characters: 334 three-byte characters are 1002 bytes.
    refused = _put(client, "/clusters/lab/files/big.yaml", {"text": "€" * 334})
    assert refused.status_code == 400
    assert refused.json()["error"] == ('file "big.yaml" is too large: 1002 bytes, the limit is 1000 bytes '
                                       "(the cluster's request size limit)")


def test_body_must_be_json_with_text(lab):
    client = client_of(lab.owner)
    assert _put(client, "/clusters/lab/files/a.yaml", "not json").json()["error"] == (
        'the request body must be a JSON object with a "text" string')
    for body in ([], {"text": 3}, {}):
        response = _put(client, "/clusters/lab/files/a.yaml", body)
        assert response.status_code == 400
        assert response.json() == {"error": 'the request body must be a JSON object with a "text" string'}


def test_another_learners_cluster_is_404_like_a_missing_one(lab):
    mallory = get_user_model().objects.create_user("mallory")
    _put(client_of(lab.owner), "/clusters/lab/files/secret.yaml", {"text": "mine"})
    other = client_of(mallory)
    for response in (other.get("/clusters/lab/files"),
                     _put(other, "/clusters/lab/files/secret.yaml", {"text": "theirs"}),
                     other.delete("/clusters/lab/files/secret.yaml"),
                     other.post("/clusters/lab/validate", json.dumps({"text": ""}), content_type="application/json"),
                     other.get("/clusters/nope/files")):
        assert response.status_code == 404
        assert response.json()["error"].startswith('cluster "')
    assert ManifestFile.objects.get(name="secret.yaml").text == "mine"


def test_signed_out_gets_401_json_not_a_login_page(lab):
    response = Client().get("/clusters/lab/files")
    assert response.status_code == 401 and response.json() == {"error": "sign in to use this cluster's page"}


def test_methods(lab):
    client = client_of(lab.owner)
    assert client.post("/clusters/lab/files").status_code == 405
    assert client.get("/clusters/lab/files/a.yaml").status_code == 405
    assert client.get("/clusters/lab/validate").status_code == 405


def test_writes_need_the_csrf_token(lab):
    strict = client_of(lab.owner, csrf=True)
    assert strict.get("/clusters/lab/files").status_code == 200  # reads need none
    assert _put(strict, "/clusters/lab/files/a.yaml", {"text": "x"}).status_code == 403
    assert not ManifestFile.objects.exists()
    assert strict.post("/clusters/lab/validate", json.dumps({"text": DEPLOYMENT}),
                       content_type="application/json").status_code == 403

    token = strict.get("/").cookies.get("csrftoken") or strict.cookies["csrftoken"]
    created = strict.put("/clusters/lab/files/a.yaml", json.dumps({"text": "x"}), content_type="application/json",
                         headers={"X-CSRFToken": token.value})
    assert created.status_code == 201
    assert strict.delete("/clusters/lab/files/a.yaml").status_code == 403
    assert strict.delete("/clusters/lab/files/a.yaml", headers={"X-CSRFToken": token.value}).status_code == 204
