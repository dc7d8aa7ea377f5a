"""Interactive sessions in the page's terminal (Chromium via Playwright against a live playground).

A learner types `kubectl run -it --rm box --image=busybox:1.28 --restart=Never -- sh` into the cluster
page's terminal: the real kubectl runs on a pseudo-terminal on the server, the widget goes raw, and the
keys reach busybox's shell in the pod — its `/ # ` prompt, `hostname`, a `cd` that sticks, Ctrl-C on a
running command, `exit` — after which kubectl deletes the pod and the widget is the line editor again.
Each step is screenshotted into var/test-artifacts/<test>/ (tests/browser/conftest.py).
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_learner import terminal_run, terminal_text, wait_terminal

pytestmark = pytest.mark.browser

TIMEOUT = 30   # seconds: kubectl run waits for the pod to be scheduled, pulled and started


def type_keys(page, text: str) -> None:
    page.keyboard.type(text)
    page.keyboard.press("Enter")


def test_run_it_rm_opens_a_shell_in_the_terminal(learners, screenshot):
    alice = learners("alice")
    page = alice.page
    alice.signup()
    alice.create_cluster("lab")
    alice.open_cluster("lab")
    expect(page.locator("#live-status")).to_contain_text("Live")
    screenshot("cluster-page", page)

    terminal_run(page, "kubectl run -it --rm box --image=busybox:1.28 --restart=Never -- sh")
    text = wait_terminal(page, re.compile(r"try pressing enter\.\s*\n/ # *$", re.M), timeout=TIMEOUT)
    assert "If you don't see a command prompt, try pressing enter." in text
    expect(page.locator("#terminal-state")).to_have_text("Interactive: exit ends it")
    screenshot("shell-prompt")

    # Ctrl-C goes to the shell, which stops the running command and prompts again.
    type_keys(page, "sleep 300")
    page.wait_for_timeout(800)
    page.keyboard.press("Control+c")
    wait_terminal(page, re.compile(r"/ # sleep 300\s*\n\^C\s*\n/ # *$", re.M))
    # ↑ is the shell's history now, not the widget's: it brings back the shell's last line.
    page.keyboard.press("ArrowUp")
    wait_terminal(page, re.compile(r"/ # sleep 300 *$", re.M))
    page.keyboard.press("Control+u")
    wait_terminal(page, re.compile(r"/ # *$", re.M))
    screenshot("ctrl-c-in-the-shell")

    type_keys(page, "hostname")
    wait_terminal(page, re.compile(r"/ # hostname\s*\nbox\s*\n/ # *$", re.M))
    type_keys(page, "cd /tmp; pwd")
    wait_terminal(page, re.compile(r"/ # cd /tmp; pwd\s*\n/tmp\s*\n/tmp # *$", re.M))
    type_keys(page, "pwd")
    wait_terminal(page, re.compile(r"/tmp # pwd\s*\n/tmp\s*\n/tmp # *$", re.M))
    screenshot("hostname-and-cd")

    type_keys(page, "exit")
    text = wait_terminal(page, re.compile(r'pod "box" deleted from default namespace\s*\n\$ *$', re.M),
                         timeout=TIMEOUT)
    assert "Session ended, resume using 'kubectl attach box -c box -n default -i -t' command" in \
        text.replace("\n", "")   # the widget's rows, joined: the line wraps
    expect(page.locator("#terminal-state")).to_have_text("Connected")
    screenshot("session-ended-pod-deleted")

    # The line editor is back: ↑ is the widget's own history again, and kubectl runs one line at a time.
    terminal_run(page, "kubectl get pods")
    wait_terminal(page, re.compile(r"\$ kubectl get pods\s*\nNo resources found in default namespace\.\s*\n\$ *$",
                                   re.M))
    page.locator("#terminal").click()
    page.keyboard.press("ArrowUp")
    wait_terminal(page, re.compile(r"\$ kubectl get pods *$", re.M))
    assert "box" not in terminal_text(page).split("kubectl get pods")[-1]
    screenshot("back-to-the-line-editor")
