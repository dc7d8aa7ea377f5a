"""Accounts: sign up, log in, log out with Django's auth; every page but the home page needs a login."""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery-9"


def test_signup_logs_in_and_lands_on_home(client):
    page = client.get("/accounts/signup/")
    assert page.status_code == 200
    assert b'name="username"' in page.content and b'name="password1"' in page.content

    response = client.post("/accounts/signup/", {"username": "alice", "password1": PASSWORD,
                                                 "password2": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    home = client.get("/")
    assert home.context["user"].username == "alice"
    assert b"Your clusters" in home.content


def test_signup_errors_are_shown(client):
    get_user_model().objects.create_user("alice", password=PASSWORD)
    response = client.post("/accounts/signup/", {"username": "alice", "password1": "x", "password2": "y"})
    assert response.status_code == 400
    assert b"already exists" in response.content
    assert get_user_model().objects.count() == 1


def test_login_form_and_logout(client):
    get_user_model().objects.create_user("bob", password=PASSWORD)
    page = client.get("/accounts/login/")
    assert page.status_code == 200
    assert b'name="username"' in page.content and b'name="password"' in page.content

    wrong = client.post("/accounts/login/", {"username": "bob", "password": "nope"})
    assert wrong.status_code == 200 and b"correct username and password" in wrong.content

    response = client.post("/accounts/login/", {"username": "bob", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").context["user"].is_authenticated

    # Log out is a POST (a GET must not log anyone out).
    assert client.get("/accounts/logout/").status_code == 405
    response = client.post("/accounts/logout/")
    assert response.status_code == 302 and response["Location"] == "/"
    assert not client.get("/").context["user"].is_authenticated


def test_login_returns_to_the_page_asked_for(client):
    get_user_model().objects.create_user("bob", password=PASSWORD)
    response = client.post("/accounts/login/?next=/clusters/lab/", {"username": "bob", "password": PASSWORD,
                                                                    "next": "/clusters/lab/"})
    assert response["Location"] == "/clusters/lab/"


def test_anonymous_home_explains_and_links(client):
    page = client.get("/")
    assert page.status_code == 200
    assert b'href="/accounts/signup/"' in page.content and b'href="/accounts/login/"' in page.content
    assert b"Your clusters" not in page.content


@pytest.mark.parametrize("method, path", [
    ("get", "/clusters/lab/"), ("post", "/clusters/lab/kubeconfig"), ("post", "/clusters/lab/reset"),
    ("get", "/clusters/lab/reset"), ("post", "/clusters/lab/delete"), ("post", "/clusters/new"),
])
def test_anonymous_is_sent_to_login(client, method, path):
    response = getattr(client, method)(path)
    assert response.status_code == 302
    assert response["Location"].startswith(f"/accounts/login/?next={path}")


def test_csrf_is_enforced():
    get_user_model().objects.create_user("carol", password=PASSWORD)
    client = Client(enforce_csrf_checks=True)
    assert client.post("/accounts/login/", {"username": "carol", "password": PASSWORD}).status_code == 403
    assert client.post("/accounts/signup/", {"username": "dave", "password1": PASSWORD,
                                             "password2": PASSWORD}).status_code == 403
    # With the token from the form it works.
    client.get("/accounts/login/")
    token = client.cookies["csrftoken"].value
    response = client.post("/accounts/login/", {"username": "carol", "password": PASSWORD,
                                                "csrfmiddlewaretoken": token})
    assert response.status_code == 302
