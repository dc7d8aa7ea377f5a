"""The Metrics panel in a real browser: the HorizontalPodAutoscaler walkthrough, watched on the page.

A learner applies php-apache (tests/fixtures/corpus/application__php-apache.yaml: hpa-example, cpu
request 200m, limit 500m) and an autoscaling/v2 HPA on it (cpu Utilization 50%, 1 to 10 replicas) from the
editor, sets the clock to 60× and waits for metrics-server's first figures (the panel says there are none
until then) and the HPA's first reading; then starts the walkthrough's load generator (busybox:1.28 in a
`wget` loop) from the terminal. The HPA's chart shows the utilisation climbing above the dashed 50% target
and the replicas growing, with the latest figures as text; the node and pod charts follow the load. The
HPA controller (clusters/engine/controllers/hpa.py) writes every figure: nothing here sets a status.
Screenshots go to var/test-artifacts/<test>/ (tests/browser/conftest.py).
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_learner import editor_replace, running_chips, terminal_run, wait_terminal
from tests.fixtures import CORPUS

pytestmark = pytest.mark.browser

TIMEOUT = 20_000
HPA = """\
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: php-apache
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: php-apache
  minReplicas: 1
  maxReplicas: 10
  metrics:
  - type: Resource
    resource:
      name: cpu
      target:
        type: Utilization
        averageUtilization: 50
"""
LOAD = ('kubectl run load-generator --image=busybox:1.28 --restart=Never -- '
        '/bin/sh -c "while sleep 0.01; do wget -q -O- http://php-apache; done"')
PHP_PODS = '#live-map .chip[data-key^="Pod/default/php-apache-"]'
SUMMARY = re.compile(r"^cpu (\d+)% / 50% · (\d+)(?: → (\d+))? replicas?$")


def hpa_points(page) -> list[dict]:
    """The HPA chart's history, as the page keeps it (simulated time, utilisation, replicas)."""
    return page.evaluate("""() => (window.playground.metrics.history.hpas.get("default/php-apache") || [])
        .map((p) => ({ t: p.t, current: p.metrics.cpu?.current ?? null, target: p.metrics.cpu?.target ?? null,
                       replicas: p.currentReplicas, desired: p.desiredReplicas }))""")


def show_metrics(page) -> None:
    page.locator("#metrics-title").scroll_into_view_if_needed()
    page.evaluate("document.getElementById('metrics-title').scrollIntoView({ block: 'start' })")


def test_the_hpa_chart_follows_the_load(learners, screenshot):
    alice = learners("alice")
    page = alice.page
    alice.signup()
    alice.create_cluster("scale")
    alice.open_cluster("scale")
    expect(page.locator("#live-status")).to_contain_text("Live")

    # A new cluster is made booted (as kind leaves one, made some seconds ago): metrics-server may have
    # scraped already or not yet, and the panel says which (tests/web/test_metrics_view.py: before the first).
    panel = page.locator("#metrics-body")
    expect(panel.locator(".metrics-status")).to_have_text(re.compile(
        r"^(metrics-server has no figures yet: its first scrape comes 15–30 s after it starts\."
        r"|metrics-server's last scrape: .+)$"))
    expect(panel.locator(".metrics-hpas")).to_contain_text("No HorizontalPodAutoscalers")
    show_metrics(page)
    screenshot("before-the-first-scrape", page)

    editor_replace(page, (CORPUS / "application__php-apache.yaml").read_text() + HPA)
    page.locator("#editor-apply").click()
    expect(running_chips(page, PHP_PODS)).to_have_count(1, timeout=TIMEOUT)
    page.locator('#clock [data-speed="60"]').click()
    expect(page.locator("#clock-state")).to_have_text("60×")

    # The first scrape, then the HPA's first reading: php-apache idles far under its target.
    expect(panel.locator(".metrics-status")).to_contain_text("metrics-server's last scrape", timeout=TIMEOUT)
    card = panel.locator('.metrics-hpa[data-hpa="default/php-apache"]')
    summary = card.locator(".hpa-summary")
    expect(summary).to_have_text(re.compile(r"^cpu \d% / 50% · 1 replica$"), timeout=TIMEOUT)
    expect(card.locator(".wl-head")).to_contain_text("php-apache → Deployment/php-apache")
    expect(panel.locator(".metrics-nodes figure")).to_have_count(2)
    expect(panel.locator(".metrics-pods .metrics-legend li", has_text="php-apache-").first).to_be_visible()

    # The walkthrough's load: the utilisation climbs far above the target, then the replicas follow.
    terminal_run(page, LOAD)
    wait_terminal(page, re.compile(r"pod/load-generator created"))

    page.wait_for_function("""() => (window.playground.metrics.history.hpas.get("default/php-apache") || [])
        .some((p) => p.metrics.cpu?.current > 100)""", timeout=60_000)
    page.wait_for_function("""() => (window.playground.metrics.history.hpas.get("default/php-apache") || [])
        .some((p) => p.currentReplicas >= 4)""", timeout=90_000)

    points = hpa_points(page)
    assert all(p["target"] == 50 for p in points), points
    assert [p["t"] for p in points] == sorted(p["t"] for p in points)
    replicas = [p["replicas"] for p in points if p["replicas"] is not None]
    assert replicas[0] == 1 and max(replicas) >= 4 and replicas == sorted(replicas), points
    peak = max(p["current"] or 0 for p in points)
    assert 100 < peak <= 260, points     # one pod throttled at its 500m limit: at most 250% of its 200m request

    # The picture: a solid utilisation line above the dashed target, a replicas line that steps up, the text.
    util, scale = card.locator("figure.metrics-chart svg.chart").all()
    expect(util.locator("path.line.c0:not(.dashed)")).to_have_count(1)
    expect(util.locator("path.line.c0.dashed")).to_have_count(1)
    assert re.search(r"H[\d.]+ V[\d.]+", scale.locator("path.line.c-replicas").get_attribute("d"))
    text = summary.inner_text()
    found = SUMMARY.match(text)
    assert found and int(found[2]) >= 4, text
    expect(card.locator(".metrics-legend")).to_contain_text(["cpu now", "current"])
    # The busiest pods of the learner's namespace (at most five): php-apache's replicas serving the load first,
    # then the load generator's few millicores if there is room; nothing of kube-system.
    busiest = panel.locator(".metrics-pods figure").first.locator(".metrics-legend li")
    expect(busiest.first).to_contain_text("php-apache-", timeout=TIMEOUT)
    names = busiest.locator(".legend-name").all_inner_texts()
    assert 1 <= len(names) <= 5 and all(re.match(r"php-apache-|load-generator$", n) for n in names), names
    show_metrics(page)
    shot = screenshot("the-hpa-chart-after-the-climb", page)
    page.evaluate("document.querySelector('#metrics-body .metrics-pods').scrollIntoView({ block: 'center' })")
    screenshot("the-nodes-and-the-busiest-pods", page)
    # The card alone, at full size, on a paused clock (the charts hold still).
    page.locator("#clock-pause").click()
    expect(page.locator("#clock-state")).to_have_text("paused")
    page.wait_for_timeout(1500)
    card.evaluate("el => el.scrollIntoView({ block: 'center' })")     # clear of the sticky clock bar
    card.screenshot(path=str(shot.with_name(f"{shot.stem}-card.png")))
