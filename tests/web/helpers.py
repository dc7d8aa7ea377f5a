"""Small helpers shared by the page tests."""
from __future__ import annotations

from django.test import Client


def client_of(user, *, csrf: bool = False) -> Client:
    """A test client logged in as `user`; with csrf=True it checks CSRF tokens like a browser's requests."""
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client
