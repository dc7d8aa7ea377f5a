"""Starting lessons, judging their steps and keeping the learner's progress (lessons/README.md, "Progress").

A lesson's cluster is an ordinary cluster of the learner's, made (or reset) by `start` with the lesson's
setup. `Panel` is one learner's view of one lesson: the panel's WebSocket (lessons/consumer.py) feeds it
snapshots of the cluster and the learner's requests, and it answers with the messages of
lessons/PANEL.md, recording every step completed, hint and solution shown, attempt and answer.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from clusters import actions, selectors
from clusters.models import Cluster
from lessons import checks, notify
from lessons.catalog import Catalog, Lesson, Step, catalog
from lessons.markdown import render, render_inline
from lessons.models import LessonProgress, StepProgress

SOLUTION_AFTER_ATTEMPTS = 3   # the panel offers the solution after this many failed attempts (always on request)
CLUSTER_NAME = re.compile(r"[^a-z0-9-]")


class LessonError(ValueError):
    """A lesson that cannot be started as asked (its setup failed): the message says why."""


# ------------------------------------------------------------------------------------ clusters

def _cluster_name(user, lesson: Lesson) -> str:
    """The lesson's cluster name for this learner: "<track>-<lesson>", or with -2, -3… if they already have
    a cluster of that name that is not this lesson's."""
    base = CLUSTER_NAME.sub("-", f"{lesson.track}-{lesson.slug}")[:58].strip("-")
    taken = set(selectors.clusters_of_user(user).values_list("name", flat=True))
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}-{n}"
    return name


def _worker_nodes(cluster: Cluster) -> int:
    return sum(1 for kind, obj in selectors.objects_of_kinds(cluster.pk, ("Node",))
               if obj["metadata"]["name"].startswith("worker-"))


def start(*, user, lesson: Lesson) -> LessonProgress:
    """(Re)start a lesson: its cluster fresh with the lesson's setup, its steps' progress from the first."""
    setup = lesson.setup
    progress = LessonProgress.objects.filter(user=user, lesson=lesson.id).select_related("cluster").first()
    cluster = progress.cluster if progress is not None else None
    if cluster is not None and _worker_nodes(cluster) == setup.workers:
        cluster = actions.cluster_reset(cluster=cluster)
    else:
        if cluster is not None:
            actions.cluster_delete(cluster=cluster)
        cluster = actions.cluster_create(owner=user, name=_cluster_name(user, lesson), workers=setup.workers,
                                         speed=setup.speed)
    if cluster.speed != setup.speed or cluster.paused:
        cluster = actions.cluster_clock(cluster=cluster, speed=setup.speed, resume=True)
    doing = ""
    try:
        for name, text in setup.manifests:
            doing = name
            actions.manifests_apply(cluster=cluster, text=text)
        for patch in setup.patches:
            doing = f'the patch of {patch["kind"]} {patch["name"]}'
            actions.object_merge_patch(cluster=cluster, kind=patch["kind"], namespace=patch.get("namespace", "default"),
                                       name=patch["name"], patch=patch["patch"])
        doing = "the editor's files"
        actions.files_replace(cluster=cluster, files=list(setup.files))
    except Exception as error:   # content that lint would have refused: say which part, and why
        raise LessonError(f"the lesson's setup failed at {doing}: {getattr(error, 'message', None) or error}") \
            from error
    now = timezone.now()
    with transaction.atomic():
        if progress is None:
            progress = LessonProgress.objects.create(user=user, lesson=lesson.id, cluster=cluster, started=now,
                                                     first_started=now)
        else:
            progress.cluster, progress.current_step, progress.started = cluster, 0, now
            progress.restarts += 1
            progress.save()
            progress.steps.all().delete()
        StepProgress.objects.create(progress=progress, index=0, began=now)
    notify.progress_changed(user.pk, lesson.id)
    return progress


def progress_of(user, lesson_id: str) -> LessonProgress | None:
    """The learner's progress in a lesson they started (with its cluster), else None."""
    if not getattr(user, "is_authenticated", False):
        return None
    return (LessonProgress.objects.filter(user=user, lesson=lesson_id, cluster__isnull=False)
            .select_related("cluster", "user").first())


# ------------------------------------------------------------------------------------- catalog

def _lesson_card(lesson: Lesson, done: dict[str, bool], rows: dict[str, LessonProgress],
                 steps_done: dict[str, int], the_catalog: Catalog) -> dict:
    row = rows.get(lesson.id)
    state = "new" if row is None else "done" if row.finished else "started"
    requires = []
    for required in lesson.requires:
        other = the_catalog.lesson(required)
        if other is not None:
            requires.append({"id": other.id, "title": other.title, "url": other.url, "done": done.get(other.id, False)})
    return {"id": lesson.id, "url": lesson.url, "title": lesson.title, "summary": lesson.summary,
            "summary_html": render_inline(lesson.summary),
            "minutes": lesson.minutes, "requires": requires, "state": state,
            "steps_done": len(lesson.steps) if state == "done" and row.current_step >= len(lesson.steps)
            else steps_done.get(lesson.id, 0), "steps_total": len(lesson.steps)}


def catalog_view(user, the_catalog: Catalog | None = None) -> list[dict]:
    """The catalog page's tracks with this learner's progress (lessons/PANEL.md, "Pages")."""
    the_catalog = the_catalog or catalog()
    rows: dict[str, LessonProgress] = {}
    steps_done: dict[str, int] = {}
    if getattr(user, "is_authenticated", False):
        for row in LessonProgress.objects.filter(user=user):
            rows[row.lesson] = row
            steps_done[row.lesson] = row.current_step
    done = {lesson_id: row.finished is not None for lesson_id, row in rows.items()}
    return [{"id": track.id, "title": track.title, "summary": track.summary,
             "lessons": [_lesson_card(lesson, done, rows, steps_done, the_catalog) for lesson in track.lessons]}
            for track in the_catalog.tracks]


def lesson_card(user, lesson: Lesson) -> dict:
    for track in catalog_view(user):
        for card in track["lessons"]:
            if card["id"] == lesson.id:
                return card
    return {}


# ---------------------------------------------------------------------------------- the panel

def needed_kinds(lesson: Lesson) -> tuple[str, ...]:
    """The kinds of object a lesson's checks look at (a panel keeps only those)."""
    kinds: set[str] = set()
    for step in lesson.steps:
        for check in step.checks:
            spec = check.spec
            if "kind" in spec and check.kind != "event":
                kinds.add(spec["kind"])
            kinds |= {"pods": {"Pod"}, "file": {"Pod"}, "event": {"Event"}, "rollout": {"Deployment", "ReplicaSet"},
                      "endpoints": {"Service", "EndpointSlice"}, "traffic": {"Service"}}.get(check.kind, set())
    return tuple(sorted(kinds))


def _traffic_reader(cluster: Cluster):
    def read(namespace: str, service: str, from_outside: bool, path: str, requests: int) -> dict[str, int] | str:
        try:
            report = selectors.service_traffic(cluster=cluster, namespace=namespace, name=service, requests=requests,
                                               path=path, from_outside=from_outside)
        except selectors.TrafficError as error:
            return str(error)
        answered = {a["pod"]: a["count"] for a in report["answers"] if a.get("pod")}
        if not answered and report["failures"]:
            return ", ".join(f'{f["reason"]} ({f["count"]})' for f in report["failures"])
        return answered
    return read


def _file_reader(cluster: Cluster):
    def read(namespace: str, pod: str, container: str | None, path: str) -> str | None:
        return selectors.container_file(cluster=cluster, namespace=namespace, pod=pod, container=container, path=path)
    return read


@dataclass
class Panel:
    """One learner's lesson as the panel shows it; every method returns the messages to send."""

    progress: LessonProgress
    lesson: Lesson
    last_checks: list[dict] | None = None
    row: StepProgress | None = field(default=None, repr=False)

    @classmethod
    def open(cls, progress: LessonProgress) -> Panel | None:
        lesson = catalog().lesson(progress.lesson)
        return None if lesson is None else cls(progress, lesson)

    # -- the current step

    @property
    def finished(self) -> bool:
        return self.progress.current_step >= len(self.lesson.steps)

    @property
    def step(self) -> Step | None:
        return None if self.finished else self.lesson.steps[self.progress.current_step]

    def _row(self) -> StepProgress:
        index = self.progress.current_step
        if self.row is None or self.row.index != index:
            self.row, _ = StepProgress.objects.get_or_create(progress=self.progress, index=index,
                                                             defaults={"began": timezone.now()})
        return self.row

    def reads_live_state(self) -> bool:
        """Whether the current step has a check that reads what can change without any write (a file a
        program writes, the traffic model at the clock's now): those are judged on every re-check too."""
        step = self.step
        return step is not None and any(check.kind in ("file", "traffic") for check in step.checks)

    def snapshot(self, objects: list[tuple[str, dict]]) -> checks.Snapshot:
        """The checks' view of the cluster: its objects, and this step's terminal commands."""
        since = self._row().began if not self.finished else None
        commands = () if since is None else tuple(
            c.line for c in selectors.terminal_commands(cluster=self.progress.cluster, since=since)
            if c.exit_code == 0)   # a command check is about a command that worked
        return checks.Snapshot.of(objects, commands=commands, traffic=_traffic_reader(self.progress.cluster),
                                  read_file=_file_reader(self.progress.cluster))

    # -- evaluation

    def evaluate(self, objects: list[tuple[str, dict]], *, force_state: bool = False,
                 learner_acted: bool = False) -> list[dict]:
        """Judge the current step on the cluster's objects; complete it (and any following step that already
        holds) when every check holds. The messages: a "state" when the step moved (or force_state), else a
        "checks" when the ticks or reasons changed."""
        completed = None
        changed_step = False
        while not self.finished and self.step.question is None:
            results = self._results(objects)
            if not all(result["ok"] for result in results):
                row = self._row()
                reason = "; ".join(r["reason"] for r in results if not r["ok"])[:2000]
                fields = []
                if learner_acted:
                    row.attempts += 1
                    fields.append("attempts")
                if row.last_reason != reason:
                    row.last_reason = reason
                    fields.append("last_reason")
                if fields:
                    row.save(update_fields=fields)
                    self._tell()
                if changed_step or force_state:
                    self.last_checks = results
                    return [self.state(completed=completed)]
                if results != self.last_checks:
                    self.last_checks = results
                    return [{"type": "checks", "step": self.progress.current_step, "checks": results,
                             "done": False, "attempts": row.attempts}]
                return []
            completed = self.progress.current_step
            self._complete()
            self._tell()
            changed_step = True
        if changed_step or force_state:
            return [self.state(completed=completed)]
        return []

    def _results(self, objects: list[tuple[str, dict]]) -> list[dict]:
        snapshot = self.snapshot(objects)
        return [{"text": check.text, "ok": result.ok, "reason": result.reason}
                for check, result in checks.evaluate_all(self.step.checks, snapshot)]

    def _tell(self) -> None:
        """Whoever follows this learner's progress (an instructor's class page) looks again."""
        notify.progress_changed(self.progress.user_id, self.lesson.id)

    def _complete(self) -> None:
        now = timezone.now()
        with transaction.atomic():
            row = self._row()
            row.completed = now
            row.save(update_fields=["completed"])
            self.progress.current_step += 1
            if self.finished:
                self.progress.finished = now
            self.progress.save(update_fields=["current_step", "finished", "updated"])
            if not self.finished:
                self.row = StepProgress.objects.create(progress=self.progress, index=self.progress.current_step,
                                                       began=now)
        self.last_checks = None

    # -- the learner's requests

    def hint(self) -> list[dict]:
        if self.finished:
            return []
        row = self._row()
        if row.hints < len(self.step.hints):
            row.hints += 1
            row.save(update_fields=["hints"])
            self._tell()
        return [self.state()]

    def solution(self) -> list[dict]:
        if self.finished:
            return []
        row = self._row()
        if not row.solution:
            row.solution = True
            row.save(update_fields=["solution"])
            self._tell()
        return [self.state()]

    def answer(self, given) -> list[dict]:
        step = self.step
        if step is None or step.question is None:
            return []
        if not isinstance(given, (str, int, list)) or isinstance(given, bool) or len(str(given)) > 500:
            return []
        row = self._row()
        correct = step.question.is_correct(given)
        row.answer, row.answer_correct = given, correct
        row.attempts += 0 if correct else 1
        row.save(update_fields=["answer", "answer_correct", "attempts"])
        if not correct:
            self._tell()
            return [self.state()]
        answered = self._question_view(step, row)
        completed = self.progress.current_step
        self._complete()
        self._tell()
        state = self.state(completed=completed)
        state["answered"] = answered     # the explanation of the step just completed
        return [state]

    # -- messages

    def _question_view(self, step: Step, row: StepProgress) -> dict | None:
        if row.answer is None:
            return None
        return {"given": row.answer, "correct": bool(row.answer_correct),
                "explanation": render(step.question.explanation) if row.answer_correct else ""}

    def _solution_html(self, step: Step) -> str:
        parts = []
        for name, text in step.solution.files:
            parts.append(f"```yaml file={name}\n{text.rstrip()}\n```")
        if step.solution.commands:
            parts.append("```sh\n" + "\n".join(step.solution.commands) + "\n```")
        if step.question is not None:
            question = step.question
            answer = (", ".join(question.choices[i] for i in question.answer) if question.choices is not None
                      else question.sample)
            parts.append(f"The answer: **{answer}**.\n\n{question.explanation}")
        if step.solution.text:
            parts.append(step.solution.text)
        return render("\n\n".join(parts))

    def state(self, *, completed: int | None = None) -> dict:
        lesson, current = self.lesson, self.progress.current_step
        next_lesson = catalog().next_after(lesson)
        steps = [{"index": s.index, "title": s.title, "done": s.index < current,
                  **({"html": render(s.body)} if s.index <= current else {})} for s in lesson.steps]
        message: dict = {
            "type": "state",
            "lesson": {"id": lesson.id, "title": lesson.title, "finished": self.finished,
                       "next": None if next_lesson is None else
                       {"id": next_lesson.id, "title": next_lesson.title, "url": next_lesson.url}},
            "current": current, "steps": steps, "step": None,
        }
        if completed is not None:
            message["completed"] = completed
        step = self.step
        if step is not None:
            row = self._row()
            checks_now = self.last_checks or [{"text": c.text, "ok": False, "reason": ""} for c in step.checks]
            message["step"] = {
                "index": step.index, "kind": step.kind, "checks": checks_now if step.question is None else [],
                "done": False, "hints": [render(h) for h in step.hints[:row.hints]],
                "hintsLeft": len(step.hints) - row.hints,
                "solution": self._solution_html(step) if row.solution else None,
                "solutionOffered": row.solution or row.attempts >= SOLUTION_AFTER_ATTEMPTS,
                "attempts": row.attempts,
                "question": None if step.question is None else
                {"choices": list(step.question.choices) if step.question.choices is not None else None,
                 "multiple": step.question.multiple},
                "answer": self._question_view(step, row),
            }
        return message
