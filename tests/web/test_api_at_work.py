"""Embedded mode's passes give way to the API (clusters/sim/runner.ApiAtWork): a pass waits before each
controller while a request is at work, never longer than GIVE_WAY_SECONDS at a time, and a pass that holds the
cluster's lock never waits."""
from __future__ import annotations

import threading

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from clusters import actions
from clusters.engine.loop import step
from clusters.kubeapi import views
from clusters.sim import reconcile, runner
from tests.engine.conftest import T0, new_state


def test_give_way_waits_while_a_request_is_at_work_and_not_otherwise(monkeypatch):
    at_work = runner.ApiAtWork()
    monkeypatch.setattr(at_work, "GIVE_WAY_SECONDS", 30.0)
    at_work.give_way()                    # nobody at work: it returns at once (else this test would hang)
    request = at_work.working()
    request.__enter__()
    waited = threading.Event()
    waiter = threading.Thread(target=lambda: (at_work.give_way(), waited.set()))
    waiter.start()
    assert not waited.wait(0.2), "a pass went on while a request was at work"
    request.__exit__(None, None, None)
    assert waited.wait(5), "the pass did not go on once the request was done"
    waiter.join()


def test_give_way_never_waits_longer_than_its_bound(monkeypatch):
    at_work = runner.ApiAtWork()
    monkeypatch.setattr(at_work, "GIVE_WAY_SECONDS", 0.01)
    with at_work.working():
        done = threading.Event()
        threading.Thread(target=lambda: (at_work.give_way(), done.set())).start()
        assert done.wait(5), "a request that never ends stopped the simulation"


def test_the_loop_offers_to_give_way_before_each_controller_it_runs():
    calls = []
    ran = []

    def controller(name):
        def run(state):
            ran.append((name, len(calls)))
        return run

    step(new_state(), T0, controllers=[controller("a"), controller("b")], between=lambda: calls.append(1))
    assert ran[:2] == [("a", 1), ("b", 2)]   # (the tests' closing check of skipped controllers runs them again)


@pytest.mark.django_db(transaction=True)
def test_an_api_request_is_at_work_for_its_answer_only(monkeypatch):
    owner = get_user_model().objects.create_user("ada")
    cluster = actions.cluster_create(owner=owner, name="work", workers=0)
    token = actions.token_issue(cluster=cluster)
    seen = []
    real = views.resource_response

    def answering(*args, **kwargs):
        seen.append(runner.api_at_work._count)
        return real(*args, **kwargs)

    monkeypatch.setattr(views, "resource_response", answering)
    monkeypatch.setattr(views, "_serving", lambda: True)
    answer = Client().get(f"/clusters/{cluster.pk}/api/v1/namespaces", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert answer.status_code == 200 and seen == [1]
    assert runner.api_at_work._count == 0


@pytest.mark.django_db(transaction=True)
def test_only_a_pass_that_holds_no_lock_gives_way(monkeypatch):
    cluster = actions.cluster_create(owner=get_user_model().objects.create_user("lin"), name="lock", workers=1)
    offered = []
    real = reconcile.step

    def stepping(state, now, **options):
        offered.append(options.get("between") is not None)
        return real(state, now, **options)

    monkeypatch.setattr(reconcile, "step", stepping)
    reconcile.forget_states()
    reconcile.cluster_reconcile(cluster.pk, between=lambda: None)
    monkeypatch.setattr(reconcile, "OPTIMISTIC_TRIES", 0)   # every pass is taken under the lock
    reconcile.forget_states()
    before = len(offered)
    reconcile.cluster_reconcile(cluster.pk, between=lambda: None)
    assert offered[0] is True and offered[before:] and not any(offered[before:])
