"""A Service card's "Send traffic" in a real browser (Chromium via Playwright against a live playground).

A learner applies a Deployment of three nginx pods and a NodePort Service from the page's editor, sends 30
requests from the Service's card and sees the three pods that answered (a bar each, the first answer's
status and body, the pods highlighted on the map), sends from outside through the node port, then scales
the Deployment to zero and sees the connections refused. Each step is screenshotted into
var/test-artifacts/<test>/ (tests/browser/conftest.py).
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_learner import editor_replace, running_chips, terminal_run, wait_terminal

pytestmark = pytest.mark.browser

TIMEOUT = 20_000
MANIFEST = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: nginx
        image: nginx:1.27
        ports:
        - containerPort: 80
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  type: NodePort
  selector:
    app: web
  ports:
  - port: 80
    targetPort: 80
"""
WEB_PODS = '#live-map .chip[data-key^="Pod/default/web-"]'


def test_send_traffic_to_a_service_and_see_who_answered(learners, screenshot):
    alice = learners("alice")
    page = alice.page
    alice.signup()
    alice.create_cluster("lab")
    alice.open_cluster("lab")
    expect(page.locator("#live-status")).to_contain_text("Live")
    screenshot("cluster-page", page)

    editor_replace(page, MANIFEST)
    page.locator("#editor-apply").click()
    expect(running_chips(page, WEB_PODS)).to_have_count(3, timeout=TIMEOUT)
    card = page.locator("#live-services li.svc", has=page.locator('[data-key="Service/default/web"]'))
    # The Service's endpoints: the three pods, ready, on its card.
    expect(card.locator('.chip.s-ok[data-key^="Pod/default/web-"]')).to_have_count(3, timeout=TIMEOUT)
    send = card.get_by_role("button", name="Send traffic to web")
    expect(send).to_be_visible()
    card.scroll_into_view_if_needed()
    screenshot("service-card")

    # What the learner types survives the live view's redraws of the cards (here one forced mid-word).
    card.get_by_label("requests").fill("30")
    path = card.get_by_label("Path")
    path.fill("")
    page.keyboard.type("/index")
    page.evaluate("window.playground.live.flash(new Map(), 50)")
    page.wait_for_timeout(300)
    page.keyboard.type(".html")
    expect(path).to_have_value("/index.html")
    expect(path).to_be_focused()

    # 30 requests from a pod in the cluster: every pod answers some, and the map shows which.
    send.click()
    result = card.locator(".traffic-result")
    expect(result.locator(".traffic-summary")).to_contain_text("30 requests from a pod in default",
                                                               timeout=TIMEOUT)
    expect(result.locator(".traffic-summary code")).to_have_text("http://web:80/index.html")
    expect(result.locator(".traffic-outcome")).to_have_text("3 pods answered")
    rows = result.locator('.traffic-row.is-pod[data-key^="Pod/default/web-"]')
    expect(rows).to_have_count(3)
    pods = sorted(page.locator(WEB_PODS).evaluate_all("els => els.map(e => e.dataset.key)"))
    assert sorted(rows.evaluate_all("els => els.map(e => e.dataset.key)")) == pods
    counts = [int(re.match(r"\d+", text).group()) for text in rows.locator(".traffic-count").all_inner_texts()]
    assert sum(counts) == 30 and all(counts) and counts == sorted(counts, reverse=True), counts
    expect(result.locator(".traffic-first .status-pill")).to_have_text("200 OK")
    expect(result.locator(".traffic-body")).to_contain_text("Welcome to nginx!")
    hit = page.locator(f"{WEB_PODS}.hit")
    expect(hit).to_have_count(3)
    assert sorted(int(n) for n in hit.locator(".hits").all_inner_texts()) == sorted(counts)
    page.locator("#map-title").scroll_into_view_if_needed()
    screenshot("answers-and-the-pods-on-the-map")
    card.scroll_into_view_if_needed()
    screenshot("answers-on-the-card")
    expect(page.locator(f"{WEB_PODS}.hit")).to_have_count(0, timeout=8_000)   # only for a moment

    # From outside: the node's IP and the Service's nodePort; a path nginx has no file for is its 404.
    card.locator("select[name=from]").select_option("outside")
    card.get_by_label("Path").fill("missing.html")
    send.click()
    expect(result.locator(".traffic-summary")).to_contain_text("from outside the cluster", timeout=TIMEOUT)
    expect(result.locator(".traffic-summary code")).to_have_text(re.compile(r"^http://172\.18\.0\.\d+:3\d{4}/missing\.html$"))
    expect(result.locator(".traffic-first .status-pill")).to_have_text("404 Not Found")
    expect(card.get_by_label("Path")).to_have_value("/missing.html")
    screenshot("from-outside-404")

    # No pod behind the Service: kube-proxy refuses the connections.
    terminal_run(page, "kubectl scale deployment web --replicas=0")
    wait_terminal(page, re.compile(r"deployment\.apps/web scaled"))
    expect(page.locator(WEB_PODS)).to_have_count(0, timeout=TIMEOUT)
    expect(card.locator('.chip[data-key^="Pod/default/web-"]')).to_have_count(0, timeout=TIMEOUT)
    card.locator("select[name=from]").select_option("cluster")
    card.get_by_label("Path").fill("/")
    send.click()
    expect(result.locator(".traffic-outcome")).to_have_text("nothing answered", timeout=TIMEOUT)
    expect(result.locator(".traffic-row.is-failure .traffic-name")).to_have_text("connection refused")
    expect(result.locator(".traffic-row.is-failure .traffic-count")).to_contain_text("30")
    expect(result.locator(".traffic-first")).to_have_count(0)
    card.scroll_into_view_if_needed()
    screenshot("no-endpoints-connection-refused")
