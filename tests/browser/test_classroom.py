"""An instructor follows a learner live, in two browsers at once (Chromium via Playwright).

The instructor (granted with `manage.py instructor grant`) creates a class assigning workloads/deployments;
a learner joins with the join link in another browser context and starts the lesson. The instructor's grid
shows them without a reload, and their cell moves when the learner completes a step. The instructor opens
the learner's page — the cluster page read-only (clusters/web/PAGE.md, "Read-only"): the terminal's
history instead of a terminal, the editor read-only, no clock buttons or node switches, the details drawer
and "Send traffic" working — and sends a message that the learner's lesson panel shows. Screenshots of both
pages go to var/test-artifacts/<test>/.
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_learner import assert_same_document, mark_document, terminal_run, wait_terminal
from tests.browser.test_lesson import STEP_MS, run_and_wait, start_lesson, step_title

pytestmark = pytest.mark.browser

LESSON_LABEL = "Deployments (workloads/deployments)"


def test_an_instructor_follows_a_learner_and_helps_them(learners, screenshot, playground):
    teacher = learners("teach")
    teacher.signup()
    playground.manage("instructor", "grant", teacher.username)
    tpage = teacher.page

    # A class with one lesson.
    tpage.goto("/classes/")
    expect(tpage.get_by_role("heading", name="New class")).to_be_visible()
    tpage.get_by_label("Name", exact=True).fill("Kubernetes 101")
    tpage.get_by_label(LESSON_LABEL).check()
    screenshot("instructor-new-class", tpage)
    with tpage.expect_navigation():
        tpage.get_by_role("button", name="Create class").click()
    expect(tpage).to_have_url(re.compile(r"/classes/\d+/$"))
    expect(tpage.locator("#grid-live")).to_contain_text("live")
    expect(tpage.locator("#class-grid")).to_contain_text("No learners yet")
    join_url = tpage.locator("#join-url").inner_text().strip()
    assert re.search(r"/classes/join/[a-z0-9]+$", join_url), join_url
    screenshot("instructor-empty-class", tpage)
    mark_document(tpage)

    # The learner joins in their own browser context.
    ada = learners("ada")
    ada.signup()
    lpage = ada.page
    lpage.goto(join_url)
    expect(lpage.get_by_role("heading", name="Join “Kubernetes 101”")).to_be_visible()
    screenshot("learner-join", lpage)
    with lpage.expect_navigation():
        lpage.get_by_role("button", name="Join the class").click()
    expect(lpage.get_by_role("heading", name="Kubernetes 101")).to_be_visible()
    screenshot("learner-joined", lpage)

    # Their row appears in the instructor's grid by itself.
    row = tpage.locator(f'#class-grid tr[data-learner="{ada.username}"]')
    cell = row.locator('td[data-lesson="workloads/deployments"]')
    expect(cell).to_contain_text("not started", timeout=15_000)
    expect(tpage.locator("#class-count")).to_have_text("1 learner")
    screenshot("instructor-learner-joined", tpage)

    # The learner starts the lesson: the cell says step 1 of 6.
    start_lesson(lpage)
    expect(cell).to_contain_text("step 1/6", timeout=15_000)
    expect(cell).to_have_class(re.compile(r"\bcell-started\b"))
    screenshot("instructor-learner-started", tpage)

    # They complete the first step; the instructor's cell moves without a reload, and the row flashes.
    run_and_wait(lpage, "kubectl apply -f web.yaml", "Three layers")
    screenshot("learner-step-1-done", lpage)
    expect(cell).to_contain_text("step 2/6", timeout=15_000)
    expect(cell.locator(".grid-meter > span")).to_have_attribute("style", re.compile(r"width: 17%"))
    assert_same_document(tpage)
    screenshot("instructor-cell-moved", tpage)

    # The instructor opens the learner's page: their cluster, read-only.
    with tpage.expect_navigation():
        row.get_by_role("link", name=ada.username).click()
    expect(tpage).to_have_url(re.compile(rf"/classes/\d+/learners/{ada.username}/$"))
    live = tpage.locator("#live:not([hidden])")
    live.wait_for()
    expect(live).to_have_attribute("data-read-only", "true")
    expect(live).to_have_attribute("data-base", f"/u/{ada.username}/clusters/workloads-deployments/")
    expect(tpage.locator("#live-status")).to_contain_text("Live")
    # Their pods on the map, no node switches, the clock's time without its buttons.
    expect(tpage.locator('#live-map .chip[data-key^="Pod/default/web-"]')).to_have_count(3)
    expect(tpage.locator("#live-map .node-switch")).to_have_count(0)
    expect(tpage.locator("#clock-time")).to_have_text(re.compile(r"^\d\d:\d\d:\d\d$"))
    expect(tpage.locator("#clock button")).to_have_count(0)
    # No terminal input: the terminal's place lists the learner's commands with their exit codes.
    expect(tpage.locator("#terminal .xterm")).to_have_count(0)
    expect(tpage.locator("#terminal textarea, #terminal input")).to_have_count(0)
    history = tpage.locator("#terminal .history-item")
    expect(history.filter(has_text="kubectl apply -f web.yaml")).to_have_count(1)
    expect(history.filter(has_text="kubectl apply -f web.yaml").locator(".history-exit")).to_have_text("exit 0")
    expect(history.filter(has_text="kubectl apply -f web.yaml")).to_contain_text("deployment.apps/web created")
    # The editor shows their file, read-only: no new/apply/delete, typing changes nothing.
    expect(tpage.locator("#editor-tabs [role=tab]", has_text="web.yaml")).to_be_visible()
    expect(tpage.locator("#editor-apply, #editor-new, #editor-delete, #editor-tabs .tab-close")).to_have_count(0)
    content = tpage.locator("#editor .cm-content")
    expect(content).to_have_attribute("aria-readonly", "true")
    before = tpage.evaluate("window.playground.editor.view.state.doc.toString()")
    content.click()
    tpage.keyboard.type("oops")
    assert tpage.evaluate("window.playground.editor.view.state.readOnly") is True
    assert tpage.evaluate("window.playground.editor.view.state.doc.toString()") == before
    # The learner's column: the lesson and the step they are on.
    card = tpage.locator(".learner-card")
    expect(card).to_contain_text("step 2/6")
    expect(card).to_contain_text("Three layers")
    screenshot("instructor-learner-page", tpage)

    # What the learner types next shows in the history within a few seconds.
    terminal_run(lpage, "kubectl get pods -l app=web")
    wait_terminal(lpage, re.compile(r"web-\S+\s+1/1\s+Running"))
    latest = history.filter(has_text="kubectl get pods -l app=web")
    expect(latest).to_have_count(1, timeout=10_000)
    expect(latest).to_contain_text("Running")
    # The details drawer and "Send traffic" work read-only too.
    tpage.locator('#live-map .node[data-key="Node//worker-1"] h3').click()
    drawer = tpage.locator("#detail")
    expect(drawer).to_be_visible()
    expect(drawer.locator("#detail-title")).to_have_text("worker-1")
    expect(drawer.locator("#detail-body")).to_contain_text("kind: Node", timeout=10_000)
    screenshot("instructor-details", tpage)
    tpage.locator("#detail-close").click()
    service = tpage.locator('#live-services li.svc:has([data-key="Service/default/kubernetes"])')
    service.get_by_role("button", name=re.compile("Send traffic")).click()
    expect(service.locator(".traffic-result")).not_to_be_empty(timeout=10_000)
    screenshot("instructor-traffic", tpage)

    # A message: the learner's panel shows it.
    tpage.get_by_label(f"Message to {ada.username}").fill("Nice work — now look at the ReplicaSet's events.")
    with tpage.expect_navigation():
        tpage.get_by_role("button", name="Send", exact=True).click()
    expect(tpage.locator(".toast")).to_contain_text(f"Message sent to {ada.username}")
    screenshot("instructor-message-sent", tpage)
    banner = lpage.locator("#lesson .lesson-banner")
    expect(banner).to_contain_text("Nice work — now look at the ReplicaSet's events.", timeout=10_000)
    expect(banner).to_contain_text(teacher.username)
    expect(step_title(lpage)).to_contain_text("Three layers")
    screenshot("learner-message", lpage)

    # The learner's view kept its own terminal and editor.
    expect(lpage.locator("#terminal .xterm")).to_have_count(1)
    expect(lpage.locator("#editor-apply")).to_be_visible()
    assert lpage.evaluate("window.playground.readOnly") is False
    expect(lpage.locator("#live-map .node-switch").first).to_be_visible(timeout=STEP_MS)
