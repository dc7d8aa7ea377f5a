"""Reading lesson files: a good lesson loads; each kind of mistake is reported with its file and line, and
only the broken lesson is left out (lessons/catalog.py)."""
from __future__ import annotations

from pathlib import Path

import pytest

from lessons.catalog import load
from lessons.markdown import code_blocks, render

TRACK = "title: Basics\nsummary: The start.\norder: 1\nlessons: [pods, other]\n"
LESSON = "title: Pods\nsummary: Run one.\nminutes: 10\nsetup: {workers: 1, speed: 10, files: [web.yaml]}\n"
WEB = "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec: {containers: [{name: web, image: nginx}]}\n"
STEP = """---
title: Run it
checks:
  - exists: {kind: Pod, name: web}
hints: [Use the file.]
solution:
  commands: [kubectl apply -f web.yaml]
---
Apply `web.yaml`.
"""
QUESTION = """---
title: Who?
question:
  choices: [kubelet, scheduler]
  answer: scheduler
  explanation: The scheduler binds.
---
Who picks the node?
"""


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def content(tmp_path: Path, **changes: str) -> Path:
    files = {"basics/track.yaml": TRACK, "basics/pods/lesson.yaml": LESSON, "basics/pods/web.yaml": WEB,
             "basics/pods/01-run.md": STEP, "basics/pods/02-who.md": QUESTION,
             "basics/other/lesson.yaml": LESSON.replace("Pods", "Other").replace(", files: [web.yaml]", ""),
             "basics/other/01-run.md": STEP}
    for name, text in changes.items():
        files[name.replace("__", "/")] = text
    return write(tmp_path, files)


def test_a_good_lesson_loads(tmp_path):
    catalog, problems = load(content(tmp_path))
    assert problems == []
    lesson = catalog.lesson("basics/pods")
    assert (lesson.title, lesson.minutes, lesson.url) == ("Pods", 10, "/lessons/basics/pods/")
    assert lesson.setup.workers == 1 and lesson.setup.speed == 10 and lesson.setup.files == (("web.yaml", WEB),)
    run, who = lesson.steps
    assert (run.index, run.slug, run.title, run.kind) == (0, "run", "Run it", "task")
    assert run.checks[0].text == "Pod web exists" and run.solution.commands == ("kubectl apply -f web.yaml",)
    assert who.kind == "question" and who.question.answer == (1,) and who.question.is_correct(1)
    assert not who.question.is_correct(0) and not who.question.is_correct("scheduler")
    assert catalog.next_after(lesson).id == "basics/other"


@pytest.mark.parametrize(("changes", "expected"), [
    ({"basics__pods__01-run.md": STEP.replace("exists:", "exist:")},
     "basics/pods/01-run.md:4: check 1: unknown check kind \"exist\""),
    ({"basics__pods__01-run.md": STEP.replace("hints:", "hint:")},
     'basics/pods/01-run.md:5: unknown field "hint" in a step'),
    ({"basics__pods__01-run.md": STEP.replace("title: Run it\n", "title: [Run\n")},
     "basics/pods/01-run.md:3: YAML:"),
    ({"basics__pods__01-run.md": STEP.replace("kubectl apply", "apply")},
     'basics/pods/01-run.md:7: solution.commands: "apply -f web.yaml" is not a kubectl command'),
    ({"basics__pods__02-who.md": QUESTION.replace("answer: scheduler", "answer: etcd")},
     'basics/pods/02-who.md:5: question.answer "etcd" is not one of the choices'),
    ({"basics__pods__lesson.yaml": LESSON.replace("minutes: 10", "minutes: ten")},
     "basics/pods/lesson.yaml:3: minutes must be a whole number from 1 to 240"),
    ({"basics__pods__lesson.yaml": LESSON.replace("speed: 10", "speed: 100")},
     "basics/pods/lesson.yaml:4: setup.speed must be 1 to 60"),
    ({"basics__pods__lesson.yaml": LESSON.replace("web.yaml]", "missing.yaml]")},
     'basics/pods/lesson.yaml:4: setup.files: no file "missing.yaml" in the lesson folder'),
    ({"basics__pods__lesson.yaml": LESSON + "requires: [basics/nope]\n"},
     'basics/pods/lesson.yaml: requires "basics/nope", which is not a lesson'),
    ({"basics__pods__01-run.md": STEP.replace("---\nApply", "Apply")},
     'basics/pods/01-run.md:1: the front matter has no closing "---" line'),
    ({"basics__pods__03-Bad.md": STEP}, "basics/pods/03-Bad.md: a step file is named NN-<slug>.md"),
    ({"basics__extra__lesson.yaml": LESSON}, 'basics/track.yaml:4: the lesson folder "extra" is not listed'),
])
def test_a_mistake_is_reported_at_its_line_and_only_its_lesson_is_left_out(tmp_path, changes, expected):
    catalog, problems = load(content(tmp_path, **changes))
    assert any(str(p).startswith(expected) for p in problems), [str(p) for p in problems]
    assert catalog.lesson("basics/other") is not None   # the other lesson still loads


def test_a_short_answer_needs_a_sample_the_patterns_take(tmp_path):
    short = QUESTION.replace("  choices: [kubelet, scheduler]\n  answer: scheduler\n",
                             '  accept: ["(kube-)?scheduler"]\n  sample: kubelet\n')
    _, problems = load(content(tmp_path, **{"basics__pods__02-who.md": short}))
    assert [str(p) for p in problems] == ['basics/pods/02-who.md:5: question: accept does not take the sample '
                                          '"kubelet"']
    catalog, problems = load(content(tmp_path, **{"basics__pods__02-who.md": short.replace("kubelet", "scheduler")}))
    question = catalog.lesson("basics/pods").steps[1].question
    assert problems == [] and question.is_correct(" Kube-Scheduler ") and not question.is_correct("kubelet")


def test_markdown_code_blocks_carry_what_the_panel_needs():
    text = "Run:\n\n```sh\nkubectl get pods\n```\n\n```yaml file=web.yaml\nkind: Pod\n```\n\n<b>x</b> & `y`\n"
    html = render(text)
    assert '<pre class="lesson-code" data-lang="sh"><code>kubectl get pods</code></pre>' in html
    assert '<pre class="lesson-code" data-lang="yaml" data-file="web.yaml"><code>kind: Pod</code></pre>' in html
    assert code_blocks(text) == [("sh", {}, "kubectl get pods\n"), ("yaml", {"file": "web.yaml"}, "kind: Pod\n")]
    assert "<code>y</code>" in html
