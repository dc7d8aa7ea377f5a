"""A learner's first session in a real browser (Chromium via Playwright) against a live playground.

The issue's scenario, each step screenshotted into var/test-artifacts/<test>/: sign up, create a
cluster from the home page, open it, paste the kubernetes.io Deployment example into the editor and
apply it, watch both pods turn Running on the map without a reload, run `kubectl get pods` and
`kubectl scale` in the page's terminal, see an unknown field reported on its own line; a second
learner cannot see, watch, drive or call the first one's cluster; and the page rides out a dropped
connection. The page's DOM hooks are the ones clusters/web/PAGE.md and the templates name.
"""
from __future__ import annotations

import re
import ssl
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import kubeconfig_parts, kubectl
from tests.fixtures import corpus_text

pytestmark = pytest.mark.browser

DEPLOYMENT = corpus_text("application__deployment.yaml")
NGINX_CHIPS = '#live-map .chip[data-key^="Pod/default/nginx-deployment-"]'
RUNNING = re.compile(r"\bs-ok\b")
TIMEOUT = 20_000  # ms: with start delays zero a pod runs a second or two after its write


def running_chips(page, selector: str):
    """The map's pod chips that say Running and ready (class s-ok, text 1/1)."""
    return page.locator(f"{selector}.s-ok", has_text="1/1")


def mark_document(page) -> None:
    """A marker that a reload or navigation would wipe: the page must be updated in place."""
    page.evaluate("window.__sameDocument = 'yes'")


def assert_same_document(page) -> None:
    assert page.evaluate("window.__sameDocument") == "yes", "the page was reloaded"


def editor_replace(page, text: str) -> None:
    """Select everything in the CodeMirror editor and type `text` over it as one paste-like input."""
    content = page.locator("#editor .cm-content")
    content.click()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.insert_text(text)
    expect(content).to_contain_text(text.splitlines()[0].split("#")[0].strip())


def terminal_run(page, line: str) -> None:
    page.locator("#terminal").click()
    page.keyboard.type(line + "\n")


def terminal_text(page) -> str:
    # xterm draws with non-breaking spaces; compare with plain ones.
    return page.locator("#terminal .xterm-rows").inner_text().replace("\xa0", " ")


def wait_terminal(page, pattern: re.Pattern, timeout: float = TIMEOUT / 1000, unwrap: bool = False) -> str:
    """Wait until the terminal's text matches; `unwrap`: with its rows joined (xterm wraps long lines)."""
    deadline = time.time() + timeout
    text = ""
    while time.time() < deadline:
        text = terminal_text(page)
        if unwrap:
            text = text.replace("\n", "")
        if pattern.search(text):
            return text
        page.wait_for_timeout(100)
    raise AssertionError(f"the terminal never showed {pattern.pattern!r}; it shows:\n{text}")


def socket_outcome(page, path: str, wait_ms: int = 5000) -> dict:
    """Open a WebSocket from the page (its cookies, its Origin): {"opened", "code", "message"}."""
    return page.evaluate("""([path, waitMs]) => new Promise((resolve) => {
        const ws = new WebSocket(`ws://${location.host}${path}`);
        const seen = {opened: false, code: null, message: null};
        ws.onopen = () => { seen.opened = true; };
        ws.onmessage = (e) => { if (seen.message === null) seen.message = String(e.data).slice(0, 200); };
        ws.onclose = (e) => { seen.code = e.code; resolve(seen); };
        setTimeout(() => { resolve(seen); try { ws.close(); } catch (err) {} }, waitMs);
    })""", [path, wait_ms])


def api_status(url: str, ca: Path, token: str | None) -> int:
    context = ssl.create_default_context(cafile=str(ca))
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, context=context, timeout=15) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


# ------------------------------------------------------------------------------------------ tests

def test_signup_create_and_open_a_cluster(learners, screenshot):
    """The first minute: sign up, create a cluster from the home page, open it, see its nodes live."""
    alice = learners("alice")
    page = alice.page
    page.goto("/")
    screenshot("home-anonymous", page)
    page.get_by_role("link", name="Create an account").click()
    expect(page).to_have_url(re.compile(r"/accounts/signup/$"))
    screenshot("signup-form")
    alice.signup()
    expect(page.locator(".empty h2")).to_have_text("No clusters yet")
    screenshot("signed-up")

    alice.create_cluster("lab", workers=2)
    expect(page.locator("#cluster-lab .cluster-name")).to_have_text("lab")
    expect(page.locator("#cluster-lab td[data-label=Nodes]")).to_have_text("3")
    screenshot("cluster-created")

    alice.open_cluster("lab")
    expect(page.locator("#live-status")).to_contain_text("Live")
    # A fresh kind-like cluster: the control plane and two workers, with nothing of the learner's on them.
    for node in ("control-plane", "worker-1", "worker-2"):
        expect(page.locator(f'#live-map .node[data-key="Node//{node}"]')).to_be_visible()
    expect(page.locator('#live-map .chip[data-key^="Pod/default/"]')).to_have_count(0)
    screenshot("cluster-page")


def test_downloaded_kubeconfig_reaches_the_api(learners, screenshot, tmp_path, playground):
    """The page's "Kubeconfig" button, as downloaded, works with the learner's own kubectl."""
    alice = learners("alice")
    alice.signup()
    alice.create_cluster("lab")
    screenshot("cluster-created", alice.page)
    config = alice.kubeconfig("lab", tmp_path)
    server = kubeconfig_parts(config)["server"]
    assert server.startswith(playground.api_url + "/clusters/"), (
        f"the kubeconfig names {server}; the API is served on {playground.api_url}")
    nodes = kubectl(config, "get", "nodes", env=playground.env).stdout
    assert re.search(r"control-plane\s+Ready\s+control-plane", nodes), nodes


def test_new_learner_applies_the_deployment_and_drives_it_from_the_terminal(learners, screenshot):
    """The issue's scenario, end to end in one page: editor → apply → map → terminal → scale."""
    alice = learners("alice")
    page = alice.page
    alice.signup()
    screenshot("signed-up", page)
    alice.create_cluster("lab")
    screenshot("cluster-created")
    alice.open_cluster("lab")
    expect(page.locator("#live-status")).to_contain_text("Live")
    expect(page.locator("#editor .cm-content")).to_be_visible()
    screenshot("cluster-page")
    mark_document(page)

    editor_replace(page, DEPLOYMENT)
    expect(page.locator("#editor .cm-content")).to_contain_text("name: nginx-deployment")
    screenshot("manifest-pasted")
    page.locator("#editor-apply").click()
    expect(running_chips(page, NGINX_CHIPS)).to_have_count(2, timeout=TIMEOUT)
    expect(page.locator(NGINX_CHIPS)).to_have_count(2)
    assert_same_document(page)
    screenshot("applied-two-pods-running")

    terminal_run(page, "kubectl get pods")
    table = wait_terminal(page, re.compile(r"(nginx-deployment-\S+\s+1/1\s+Running[^\n]*\n?.*){2}", re.S))
    assert re.search(r"NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE", table), table
    assert len(re.findall(r"nginx-deployment-[a-z0-9]+-[a-z0-9]+\s+1/1\s+Running\s+0\s", table)) == 2, table
    screenshot("terminal-get-pods")

    terminal_run(page, "kubectl scale deployment nginx-deployment --replicas=4")
    wait_terminal(page, re.compile(r"deployment\.apps/nginx-deployment scaled"))
    expect(running_chips(page, NGINX_CHIPS)).to_have_count(4, timeout=TIMEOUT)
    expect(page.locator(NGINX_CHIPS)).to_have_count(4)
    assert_same_document(page)
    screenshot("scaled-to-four")


def test_unknown_field_is_shown_on_its_line(learners, screenshot):
    """A typo'd field: the editor marks the very line and the problems list says which line and why."""
    alice = learners("alice")
    page = alice.page
    alice.signup()
    alice.create_cluster("lab")
    alice.open_cluster("lab")
    expect(page.locator("#editor .cm-content")).to_be_visible()
    screenshot("cluster-page", page)

    lines = DEPLOYMENT.splitlines()
    line = next(i for i, text in enumerate(lines, 1) if text.strip().startswith("replicas:"))
    lines[line - 1] = lines[line - 1].replace("replicas:", "replicaz:")
    editor_replace(page, "\n".join(lines) + "\n")
    screenshot("typo-pasted")

    problem = page.locator("#editor-problems li", has_text=re.compile(r"unknown field", re.I))
    expect(problem.first).to_be_visible(timeout=TIMEOUT)
    expect(problem.first).to_contain_text(re.compile(rf"^\s*Line {line}\b.*unknown field.*replicaz", re.I | re.S))
    error_line = page.locator("#editor .cm-line").nth(line - 1)
    expect(error_line).to_contain_text("replicaz")
    expect(error_line.locator(".cm-lintRange-error")).not_to_have_count(0)
    # Only that line is marked.
    marked = page.locator("#editor .cm-line").filter(has=page.locator(".cm-lintRange-error"))
    expect(marked).to_have_count(1)
    screenshot("error-on-its-line")

    # Applying it anyway is refused with the API server's own message, and nothing is created.
    page.locator("#editor-apply").click()
    wait_terminal(page, re.compile(r'Error from server \(BadRequest\):.*unknown field "spec\.replicaz"'), unwrap=True)
    expect(page.locator(NGINX_CHIPS)).to_have_count(0)
    expect(page.locator("#live-workloads")).not_to_contain_text("nginx-deployment")
    screenshot("apply-refused")


def test_second_learner_cannot_reach_the_first_ones_cluster(learners, screenshot, tmp_path, playground):
    """Another learner's cluster does not exist for you: page 404, sockets 4403, API 401/403."""
    alice = learners("alice")
    alice.signup()
    alice.create_cluster("lab")
    alice.open_cluster("lab")
    screenshot("alice-cluster-page", alice.page)
    alice_config = kubeconfig_parts(alice.kubeconfig("lab", tmp_path))

    bob = learners("bob")
    bob.signup()
    bob.create_cluster("own")
    screenshot("bob-home", bob.page)
    bob_config = kubeconfig_parts(bob.kubeconfig("own", tmp_path))

    # The page: 404, the same as a cluster that does not exist.
    response = bob.page.goto("/clusters/lab/")
    assert response.status == 404
    screenshot("bob-gets-404", bob.page)
    assert bob.page.goto("/clusters/no-such-cluster/").status == 404

    # The API: Bob's own token on Alice's cluster id, or no token at all, is refused.
    pods = "/api/v1/namespaces/default/pods"
    alice_url = alice_config["server"] + pods
    assert api_status(alice_url, alice_config["ca"], alice_config["token"]) == 200
    assert api_status(alice_url, bob_config["ca"], bob_config["token"]) in (401, 403)
    assert api_status(alice_url, bob_config["ca"], None) in (401, 403)
    assert api_status(bob_config["server"] + pods, bob_config["ca"], bob_config["token"]) == 200

    # And the real kubectl, with Bob's kubeconfig pointed at Alice's cluster.
    bob_on_alice = tmp_path / "bob-on-alice.kubeconfig"
    bob_on_alice.write_text((tmp_path / f"{bob.username}-own.kubeconfig").read_text()
                            .replace(bob_config["server"], alice_config["server"]))
    result = kubectl(bob_on_alice, "get", "pods", env=playground.env, check=False)
    assert result.returncode != 0
    assert re.search(r"Unauthorized|Forbidden", result.stderr, re.I), result.stderr

    # The sockets (last: the checks above do not depend on them). Alice's own page opens hers and gets
    # the snapshot; from Bob's page (his session cookie, the page's Origin) both of Alice's sockets are
    # refused with 4403 — the handshake may be accepted first, but no byte of her cluster arrives.
    alice.page.goto("/")
    own = socket_outcome(alice.page, "/clusters/lab/live", wait_ms=3000)
    assert own["opened"] and own["message"] and '"snapshot"' in own["message"], own
    bob.page.goto("/")
    for path in ("/clusters/lab/live", "/clusters/lab/terminal"):
        outcome = socket_outcome(bob.page, path)
        assert (outcome["code"], outcome["message"]) == (4403, None), f"{path}: {outcome}"


def test_page_survives_a_dropped_connection(learners, screenshot, tmp_path, playground):
    """The connection drops: the page says Reconnecting, then catches up on what changed meanwhile.

    The page's live socket goes through Playwright's WebSocket routing (a transparent relay to the
    server while the "network" is up): dropping it closes the page's socket, and every reconnection
    attempt is refused until the network is back. (Chromium's offline emulation leaves open sockets
    open, so `context.set_offline` alone would not drop it; it is used too, for the page's HTTP.)
    """
    alice = learners("alice")
    page = alice.page
    alice.signup()
    alice.create_cluster("lab")
    config = alice.kubeconfig("lab", tmp_path)
    network = {"up": True, "open": [], "attempts": []}

    def relay(ws) -> None:
        network["attempts"].append(ws.url)
        if not network["up"]:
            ws.close(code=1001, reason="network unreachable")
            return
        server = ws.connect_to_server()
        network["open"].append((ws, server))

    page.route_web_socket(re.compile(r"/clusters/lab/live(\?.*)?$"), relay)
    alice.open_cluster("lab")
    expect(page.locator("#live-status")).to_contain_text("Live")
    assert network["attempts"] and not network["attempts"][0].endswith("?rv"), network
    mark_document(page)
    screenshot("live", page)

    network["up"] = False
    alice.context.set_offline(True)
    for ws, server in network["open"]:
        server.close(code=1001, reason="network dropped")
        ws.close(code=1001, reason="network dropped")
    network["open"].clear()
    expect(page.locator("#live-status")).to_contain_text("Reconnecting", timeout=TIMEOUT)
    screenshot("reconnecting")

    # Meanwhile, from the learner's own kubectl: a Deployment whose pods start while the page is away.
    kubectl(config, "create", "deployment", "web", "--image=nginx:1.27", "--replicas=2", env=playground.env)
    kubectl(config, "wait", "--for=condition=Available", "deployment/web", "--timeout=30s", env=playground.env)
    page.wait_for_timeout(1500)  # at least one refused reconnection attempt
    expect(page.locator('#live-map .chip[data-key^="Pod/default/web-"]')).to_have_count(0)
    expect(page.locator("#live-status")).to_contain_text("Reconnecting")
    screenshot("changed-while-away")

    refused = len(network["attempts"])
    network["up"] = True
    alice.context.set_offline(False)
    expect(page.locator("#live-status")).to_contain_text("Live", timeout=40_000)
    expect(running_chips(page, '#live-map .chip[data-key^="Pod/default/web-"]')).to_have_count(2, timeout=TIMEOUT)
    assert_same_document(page)
    # It resumed from the resourceVersion it had, not from scratch.
    assert re.search(r"\?rv=\d+$", network["attempts"][-1]), network["attempts"]
    assert len(network["attempts"]) > refused
    screenshot("resynced")
