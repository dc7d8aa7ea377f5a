"""Browser tests: Playwright driving Debian's Chromium (/usr/bin/chromium) against a live playground.

One live server (tests/live_server.py, `manage.py serve` in a subprocess) for the browser tests, with instant
image pulls and container starts (PLAYGROUND_START_DELAYS=0) so pods run as soon as the engine has
scheduled them; one headless Chromium for them; a fresh browser context (cookies, storage) per
learner. Playwright never downloads a browser: `executable_path` is Debian's.

Every step of a test is screenshotted with `screenshot("step")` into
var/test-artifacts/<test name>/<NN-step>.png (git-ignored with var/); a failing test adds a last
`NN-failed.png` of each of its pages.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from tests import live_server

CHROMIUM = os.environ.get("PLAYGROUND_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = live_server.ROOT / "var" / "test-artifacts"
KUBECTL = Path(sys.executable).parent / "kubectl"
PASSWORD = "a-Long-pass-phrase-42"

@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


# ------------------------------------------------------------------------------------------ server

# Package scope: the server and the browser go away once the browser tests are done (Playwright's sync
# API leaves its event loop marked as running in this thread while it is alive).
@pytest.fixture(scope="package")
def playground(tmp_path_factory) -> Iterator[live_server.LiveServer]:
    server = live_server.start(tmp_path_factory.mktemp("browser"), extra_env={"PLAYGROUND_START_DELAYS": "0"})
    try:
        yield server
    finally:
        server.stop()


# ----------------------------------------------------------------------------------------- browser

@pytest.fixture(scope="package")
def chromium():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"no Chromium at {CHROMIUM}: install Debian's `chromium` (.ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Learner:
    """One person at one browser: their own context (cookies) and page."""
    username: str
    password: str
    context: object
    page: object
    base_url: str
    clusters: list[str] = field(default_factory=list)

    def signup(self) -> None:
        page = self.page
        page.goto("/accounts/signup/")
        page.fill("#id_username", self.username)
        page.fill("#id_password1", self.password)
        page.fill("#id_password2", self.password)
        with page.expect_navigation():
            page.get_by_role("button", name="Sign up").click()
        assert page.url.rstrip("/") == self.base_url, f"signup did not land on the home page: {page.url}"
        page.get_by_role("heading", name="Your clusters").wait_for()

    def login(self) -> None:
        page = self.page
        page.goto("/accounts/login/")
        page.fill("#id_username", self.username)
        page.fill("#id_password", self.password)
        with page.expect_navigation():
            page.get_by_role("button", name=re.compile("Log in", re.I)).click()
        page.get_by_role("heading", name="Your clusters").wait_for()

    def create_cluster(self, name: str, workers: int = 2) -> None:
        page = self.page
        page.goto("/")
        page.fill("#id_name", name)
        page.fill("#id_workers", str(workers))
        with page.expect_navigation():
            page.get_by_role("button", name="Create cluster").click()
        page.locator(f"#cluster-{name}").wait_for()
        self.clusters.append(name)

    def open_cluster(self, name: str) -> None:
        page = self.page
        page.goto("/")
        with page.expect_navigation(wait_until="domcontentloaded"):
            page.get_by_role("link", name=f"Open {name}").click()
        assert page.url == f"{self.base_url}/clusters/{name}/"
        page.locator("#live:not([hidden])").wait_for()   # the live feed's first snapshot is drawn

    def kubeconfig(self, name: str, directory: Path) -> Path:
        """Download the cluster's kubeconfig with the home page's button (a new token each time)."""
        page = self.page
        page.goto("/")
        with page.expect_download() as download:
            page.get_by_role("button", name=f"Download {name}.kubeconfig").click()
        path = directory / f"{self.username}-{name}.kubeconfig"
        download.value.save_as(path)
        return path


@pytest.fixture
def learners(chromium, playground) -> Iterator[Callable[[str], Learner]]:
    """learners("alice") → a new learner (unique user name) in a fresh browser context; not signed up."""
    made: list[Learner] = []

    def make(prefix: str = "learner") -> Learner:
        context = chromium.new_context(base_url=playground.http_url, viewport={"width": 1400, "height": 1000},
                                       accept_downloads=True)
        context.set_default_timeout(15_000)
        learner = Learner(f"{prefix}-{uuid.uuid4().hex[:6]}", PASSWORD, context, context.new_page(),
                          playground.http_url)
        made.append(learner)
        return learner

    yield make
    for learner in made:
        learner.context.close()


@pytest.fixture
def screenshot(request, learners) -> Iterator[Callable[..., Path]]:
    """screenshot("step"[, page]) → var/test-artifacts/<test>/<NN-step>.png (the first learner's page by default)."""
    directory = ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    pages: list = []
    count = 0

    def take(step: str, page=None) -> Path:
        nonlocal count
        if page is None:
            if not pages:
                raise RuntimeError("screenshot(step) needs a page before any was given")
            page = pages[0]
        elif page not in pages:
            pages.append(page)
        count += 1
        path = directory / f"{count:02d}-{re.sub(r'[^A-Za-z0-9_.-]+', '-', step)}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    take.pages = pages
    yield take
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        for index, page in enumerate(pages):
            try:
                take(f"failed-{index + 1}" if len(pages) > 1 else "failed", page)
            except Exception:
                pass


# ------------------------------------------------------------------------------------------ kubectl

def kubectl(kubeconfig: Path, *args: str, env: dict, check: bool = True,
            stdin: str | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run([str(KUBECTL), "--kubeconfig", str(kubeconfig), *args], input=stdin, text=True,
                            capture_output=True, env=env, timeout=60)
    if check and result.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed ({result.returncode}):\n"
                             f"{result.stdout}\n{result.stderr}")
    return result


def kubeconfig_parts(path: Path) -> dict:
    """server, token and CA file (written beside the kubeconfig) of a downloaded kubeconfig."""
    import base64

    config = yaml.safe_load(path.read_text())
    cluster = config["clusters"][0]["cluster"]
    ca = path.with_suffix(".ca.crt")
    ca.write_bytes(base64.b64decode(cluster["certificate-authority-data"]))
    return {"server": cluster["server"], "token": config["users"][0]["user"]["token"], "ca": ca}
