"""A learner walks one real lesson end to end in Chromium: workloads/deployments (lessons/content/).

From the catalog (its summaries as inline HTML) to the lesson's introduction and its cluster page: the page
head shows the lesson's actions instead of the cluster's Reset…/Delete…; each task step is done with the
panel's own "Run in terminal" buttons and ticks itself (nothing else is pressed); a hint is asked for; the
two question steps are answered (a choice, then a short answer); the last step brings "Lesson complete".
Every step is screenshotted into var/test-artifacts/<test>/.
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_learner import wait_terminal

pytestmark = pytest.mark.browser

LESSON = "workloads/deployments"
STEP_MS = 60_000   # a step's checks hold a moment after the command (pods start, controllers catch up)


def step_title(page):
    return page.locator("#lesson #lesson-step-title")


def run_button(page, command: str):
    """The panel's Run button for one command of the current step's shell blocks."""
    return page.locator(f'#lesson .code-run[data-run="{command}"]')


def lesson_card(page):
    """The lesson's card in the catalog (other cards link to it too, as a prerequisite)."""
    return page.locator(f'.lesson-card:has(.lesson-card-title a[href="/lessons/{LESSON}/"])')


def start_lesson(page, screenshot=None) -> None:
    """From the catalog: the lesson's card, its introduction, Start; the lesson's cluster page is up."""
    page.goto("/lessons/")
    card = lesson_card(page)
    expect(card.locator(".lesson-card-title")).to_have_text("Deployments")
    if screenshot:
        card.scroll_into_view_if_needed()
        screenshot("catalog", page)
    card.get_by_role("link", name="Start Deployments").click()
    expect(page).to_have_url(re.compile(f"/lessons/{LESSON}/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Deployments")
    if screenshot:
        screenshot("introduction", page)
    with page.expect_navigation(wait_until="domcontentloaded"):
        page.get_by_role("button", name="Start lesson").click()
    page.locator("#live:not([hidden])").wait_for()
    expect(step_title(page)).to_contain_text("Create a Deployment", timeout=20_000)


def run_and_wait(page, command: str, next_title: str, screenshot=None, name: str = "") -> None:
    """Press the step's Run button for `command`; the step completes by itself and the next one shows."""
    button = run_button(page, command)
    expect(button).to_be_visible()
    button.click()
    expect(button).to_have_text("Sent ✓")
    wait_terminal(page, re.compile(re.escape(command)))
    # "Step N done ✓" for a moment, then the next step: nothing but the cluster changed.
    moment = page.locator("#lesson .lesson-moment")
    moment.wait_for(timeout=STEP_MS)
    if screenshot:
        screenshot(f"{name}-done", page)
    expect(step_title(page)).to_contain_text(next_title, timeout=STEP_MS)


def test_a_learner_walks_a_lesson_from_the_catalog_to_lesson_complete(learners, screenshot):
    ada = learners("ada")
    page = ada.page
    ada.signup()

    # The catalog's summaries are Markdown: backticks become code, never literal.
    page.goto("/lessons/")
    summaries = page.locator(".lesson-card-summary")
    expect(summaries.first).to_be_visible()
    assert not any("`" in text for text in summaries.all_inner_texts()), "a summary shows raw Markdown backticks"
    expect(page.locator(".lesson-card-summary code").first).to_be_visible()
    start_lesson(page, screenshot)

    # The page head: the lesson's actions, not the cluster's Reset…/Delete… (they would leave the lesson).
    head = page.locator(".cluster-head .head-actions")
    expect(head.get_by_role("button", name="Restart lesson…")).to_be_visible()
    expect(head.get_by_role("button", name="Download kubeconfig")).to_be_visible()
    expect(head.get_by_role("link", name="All lessons")).to_have_attribute("href", "/lessons/")
    expect(head.get_by_role("link", name=re.compile("Reset|Delete"))).to_have_count(0)
    # The lesson put its manifest in the editor.
    expect(page.locator("#editor-tabs [role=tab]", has_text="web.yaml")).to_be_visible()
    screenshot("step-1-create", page)

    # Step 1: apply the file with the panel's Run button; the checklist ticks, the step completes by itself.
    run_and_wait(page, "kubectl apply -f web.yaml", "Three layers", screenshot, "step-1")
    expect(page.locator('#live-map .chip[data-key^="Pod/default/web-"]')).to_have_count(3)
    screenshot("step-2-question", page)

    # Step 2: a choice question. A wrong answer first, then the right one with its explanation.
    page.get_by_label("the scheduler").check()
    page.get_by_role("button", name="Check answer").click()
    expect(page.locator("#lesson .lesson-answer")).to_contain_text("Not quite")
    screenshot("step-2-wrong-answer", page)
    page.get_by_label("the ReplicaSet controller").check()
    page.get_by_role("button", name="Check answer").click()
    moment = page.locator("#lesson .lesson-moment")
    expect(moment).to_contain_text("Step 2 done")
    expect(moment).to_contain_text("The ReplicaSet controller creates")
    screenshot("step-2-explained", page)
    moment.get_by_role("button", name="Next step").click()

    # Step 3: a short answer.
    expect(step_title(page)).to_contain_text("Follow the owners")
    page.get_by_label("Your answer").fill("ReplicaSet")
    screenshot("step-3-short-answer", page)
    page.get_by_role("button", name="Check answer").click()
    expect(moment).to_contain_text("Step 3 done")
    moment.get_by_role("button", name="Next step").click()

    # Step 4: a hint first, then scale with the Run button.
    expect(step_title(page)).to_contain_text("Scale the Deployment")
    page.locator("#lesson [data-action=hint]").click()
    hint = page.locator("#lesson .lesson-hint")
    expect(hint).to_have_count(1)
    expect(hint.first).to_contain_text("kubectl scale deployment")
    expect(page.locator("#lesson [data-action=hint]")).to_contain_text("Another hint (1 left)")
    screenshot("step-4-hint", page)
    checks = page.locator("#lesson .lesson-check")
    expect(checks).to_have_count(3)
    expect(checks.nth(0)).to_have_attribute("data-ok", "false")
    run_and_wait(page, "kubectl scale deployment web --replicas=5", "Controllers all the way down", screenshot,
                 "step-4")
    expect(page.locator('#live-map .chip[data-key^="Pod/default/web-"]')).to_have_count(5, timeout=STEP_MS)

    # Step 5: delete the ReplicaSet; the Deployment makes another, and five new pods.
    screenshot("step-5-delete-rs", page)
    run_and_wait(page, "kubectl delete rs -l app=web", "Clean up from the top", screenshot, "step-5")

    # Step 6: delete the Deployment: the last step, then "Lesson complete".
    screenshot("step-6-clean-up", page)
    run_button(page, "kubectl delete deployment web").click()
    complete = page.locator("#lesson .lesson-complete")
    expect(complete.get_by_role("heading", name="Lesson complete")).to_be_visible(timeout=STEP_MS)
    expect(complete).to_contain_text("all 6 steps")
    expect(page.locator("#lesson .lesson-progress")).to_have_attribute("aria-valuenow", "100")
    screenshot("lesson-complete", page)

    # Back in the catalog the lesson is done.
    page.goto("/lessons/")
    card = lesson_card(page)
    expect(card.locator(".lesson-badge").first).to_have_text("Done ✓")
    card.scroll_into_view_if_needed()
    screenshot("catalog-done", page)
