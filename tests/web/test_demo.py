"""`manage.py demo` (the end of `make run`): the README's demo/demo login works and a second run keeps it."""
from __future__ import annotations

import pytest
from django.core.management import call_command
from django.test import Client

from clusters import selectors


@pytest.mark.django_db
def test_demo_user_logs_in_with_the_readme_password(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    call_command("demo")
    call_command("demo")   # `make run` again: nothing duplicated, the password still works
    assert Client().login(username="demo", password="demo")
    cluster = selectors.cluster_by_name(username="demo", name="demo")
    assert cluster is not None
    assert f"/clusters/{cluster.pk}" in (tmp_path / "demo.kubeconfig").read_text()
