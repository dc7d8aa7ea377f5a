"""Every lesson's solution, played as a learner plays it, against a live server with the real kubectl.

For each lesson: a learner signs in, starts it (POST …/start: the lesson's cluster with its setup),
opens the lesson panel's WebSocket, and for each step
* the panel's judgement of the step before anything is done must have a failing check (a step whose
  checks already hold teaches nothing),
* the solution's files are saved through the editor's files API and its commands run through the
  browser terminal's WebSocket (the sandboxed real kubectl, as typed), a question step is answered,
* the panel must then report the step completed, by itself, within STEP_SECONDS.
A lesson whose solution does not pass is a failing test, with the panel's reasons in the message.
"""
from __future__ import annotations

import json
import time

import pytest
import requests
import websocket

from lessons.catalog import Lesson, Step, load
from tests import live_server

pytestmark = pytest.mark.e2e

STEP_SECONDS = 60.0
LESSONS = load()[0].lessons()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = live_server.start(tmp_path_factory.mktemp("lessons"), extra_env={"PLAYGROUND_START_DELAYS": "0"})
    try:
        yield server
    finally:
        server.stop()


def learner(server, name: str) -> requests.Session:
    server.manage("shell", "-c", "from django.contrib.auth import get_user_model as m; "
                  f"u = m().objects.create_user('{name}', password='pw-{name}')")
    session = requests.Session()
    session.get(f"{server.http_url}/accounts/login/").raise_for_status()
    answer = session.post(f"{server.http_url}/accounts/login/", data={
        "username": name, "password": f"pw-{name}", "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        allow_redirects=False)
    assert answer.status_code == 302, answer.text
    return session


class Socket:
    def __init__(self, server, session: requests.Session, path: str) -> None:
        self.ws = websocket.create_connection(server.http_url.replace("http://", "ws://") + path,
                                              cookie=f"sessionid={session.cookies['sessionid']}",
                                              origin=server.http_url, timeout=STEP_SECONDS)

    def send(self, message: dict) -> None:
        self.ws.send(json.dumps(message))

    def receive(self, timeout: float) -> dict | None:
        self.ws.settimeout(max(timeout, 0.01))
        try:
            return json.loads(self.ws.recv())
        except websocket.WebSocketTimeoutException:
            return None

    def close(self) -> None:
        self.ws.close()


class LessonPanel(Socket):
    """The panel's messages folded into what it shows: the last state, with checks messages applied."""

    state: dict | None = None

    def until(self, done, what: str, timeout: float = STEP_SECONDS) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            # Short waits: the server's keep-alive pings would restart one long socket timeout forever.
            message = self.receive(min(2.0, deadline - time.monotonic()))
            if message is None:
                continue
            if message["type"] == "state":
                self.state = message
            elif message["type"] == "checks" and self.state and self.state["step"] \
                    and self.state["step"]["index"] == message["step"]:
                self.state["step"]["checks"] = message["checks"]
            if done(message):
                return message
        step = (self.state or {}).get("step") or {}
        failing = [f'{c["text"]}: {c["reason"]}' for c in step.get("checks", []) if not c["ok"]]
        raise AssertionError(f"{what}: not within {timeout:.0f} s; the panel says:\n  " + "\n  ".join(failing))


NOT_SCRAPED_YET = "error: metrics not available yet"   # kubectl top before metrics-server's first scrape of it


def run_line(terminal: Socket, line: str) -> tuple[str, int]:
    terminal.send({"type": "run", "id": 1, "line": line})
    output = []
    deadline = time.monotonic() + STEP_SECONDS
    while True:
        assert time.monotonic() < deadline, \
            f"{line}: not finished within {STEP_SECONDS:.0f} s:\n{''.join(output)[-2000:]}"
        message = terminal.receive(min(2.0, deadline - time.monotonic()))
        if message is None:
            continue
        if message["type"] == "exit":
            return "".join(output), message["code"]
        if message["type"] == "output":
            output.append(message["data"])


def play(server, session: requests.Session, cluster: str, lesson: Lesson, step: Step, terminal: Socket,
         panel: LessonPanel) -> None:
    for name, text in step.solution.files:
        answer = session.put(f"{server.http_url}/clusters/{cluster}/files/{name}", json={"text": text},
                             headers={"X-CSRFToken": session.cookies["csrftoken"]})
        assert answer.status_code in (200, 201), answer.text
    for line in step.solution.commands:
        output, code = run_line(terminal, line)
        deadline = time.monotonic() + STEP_SECONDS
        while code != 0 and NOT_SCRAPED_YET in output and time.monotonic() < deadline:
            # What the lesson tells the learner to do: metrics-server has not sampled a just-started pod yet
            # (it scrapes every 15 simulated seconds), so try again in a moment.
            time.sleep(0.5)
            output, code = run_line(terminal, line)
        assert code == 0, f"{lesson.id} step {step.index + 1} ({step.title}): `{line}` exited {code}:\n{output}"
    if step.question is not None:
        question = step.question
        given = (list(question.answer) if question.multiple else question.answer[0]) if question.choices \
            else question.sample
        panel.send({"type": "answer", "answer": given})


@pytest.mark.parametrize("lesson", LESSONS, ids=[lesson.id for lesson in LESSONS])
def test_every_step_fails_before_its_solution_and_passes_after(server, lesson: Lesson):
    session = learner(server, "l-" + lesson.id.replace("/", "-"))
    started = session.post(f"{server.http_url}{lesson.url}start", allow_redirects=False,
                           headers={"X-CSRFToken": session.cookies["csrftoken"]})
    assert started.status_code == 302 and started.headers["Location"] == lesson.url, started.text
    page = session.get(f"{server.http_url}{lesson.url}")
    assert page.status_code == 200
    cluster = page.text.split('data-cluster="', 1)[1].split('"', 1)[0]
    panel = LessonPanel(server, session, f"{lesson.url}live")
    terminal = Socket(server, session, f"/clusters/{cluster}/terminal")
    try:
        panel.until(lambda m: m["type"] == "state", "the panel's first state", 20)
        for step in lesson.steps:
            state = panel.state
            where = f"{lesson.id} step {step.index + 1} ({step.title})"
            assert state["current"] == step.index, f"{where}: the panel is on step {state['current'] + 1}"
            if step.question is None:
                assert not all(c["ok"] for c in state["step"]["checks"]), \
                    f"{where}: every check already holds before the solution"
            play(server, session, cluster, lesson, step, terminal, panel)
            panel.until(lambda m, i=step.index: m["type"] == "state" and m.get("completed", -1) >= i,
                        f"{where}: the step did not complete after its solution")
        assert panel.state["lesson"]["finished"]
    finally:
        panel.close()
        terminal.close()
