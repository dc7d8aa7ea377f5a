"""What instructors do with classes, and the class's progress as the grid shows it.

Writers (creating a class, joining, importing learners, helping one) and reads (the grid, a learner's
detail, the CSV) for the thin views and the grid's consumer. The grid is learners × assigned lessons:
each cell the learner's state in that lesson (not started / in progress at step n / done), time spent,
hints and solutions used, attempts; a learner is **stuck** when their current step has not moved for the
class's stuck_minutes, when the same check keeps failing (STUCK_ATTEMPTS attempts), or when pods of their
lesson cluster are crash-looping.
"""
from __future__ import annotations

import csv
import io
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from classroom.models import Classroom, Membership
from clusters import actions, selectors
from lessons import notify as lesson_notify
from lessons import progress as lesson_progress
from lessons.catalog import catalog
from lessons.models import LessonProgress, StepProgress

STUCK_ATTEMPTS = 3
MAX_IMPORT = 500
MAX_MESSAGE = 500
USERNAME = re.compile(r"^[\w.@+-]{1,150}$")


class ClassError(ValueError):
    """What an instructor or learner asked cannot be done; the message says why."""


# ------------------------------------------------------------------------------------ classes

def class_create(*, instructor, name: str, lessons: list[str], ends: date | None = None) -> Classroom:
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ClassError("a class needs a name of at most 100 characters")
    known = catalog()
    unknown = [lesson for lesson in lessons if known.lesson(lesson) is None]
    if unknown:
        raise ClassError(f"no such lesson: {', '.join(unknown)}")
    if not lessons:
        raise ClassError("assign at least one lesson")
    if ends is not None and ends < timezone.localdate():
        raise ClassError("the end date is in the past")
    return Classroom.objects.create(name=name, instructor=instructor, lessons=list(dict.fromkeys(lessons)), ends=ends)


def classes_taught(instructor) -> list[Classroom]:
    return list(Classroom.objects.filter(instructor=instructor).order_by("-created"))


def class_of_instructor(instructor, class_id: int) -> Classroom | None:
    """The instructor's own class; None for anyone else's (pages answer 404 alike)."""
    return Classroom.objects.filter(pk=class_id, instructor=instructor).select_related("instructor").first()


def class_by_code(code: str) -> Classroom | None:
    return Classroom.objects.filter(join_code=(code or "").strip().lower()).first()


def class_join(*, learner, classroom: Classroom) -> bool:
    """The learner joins; False if they already were in it. An ended class takes no one."""
    if classroom.ends is not None and classroom.ends < timezone.localdate():
        raise ClassError(f'the class "{classroom.name}" ended on {classroom.ends:%d %B %Y}')
    try:
        with transaction.atomic():
            Membership.objects.create(classroom=classroom, learner=learner)
    except IntegrityError:
        return False
    _members_changed(classroom)
    return True


def classes_of_learner(learner) -> list[Classroom]:
    return list(Classroom.objects.filter(memberships__learner=learner).select_related("instructor"))


def learner_of_class(classroom: Classroom, username: str):
    membership = Membership.objects.filter(classroom=classroom, learner__username=username).select_related(
        "learner").first()
    return membership.learner if membership else None


@dataclass(frozen=True)
class Imported:
    username: str
    password: str | None      # the initial password, for a new account (shown once); None: it existed
    joined: bool


def learners_import(*, classroom: Classroom, text: str) -> list[Imported]:
    """A CSV of user names (a header "username" is optional; one name per line is enough): new accounts
    get a random initial password, returned once; everyone listed joins the class. All or nothing."""
    rows = [row for row in csv.reader(io.StringIO(text)) if row and any(cell.strip() for cell in row)]
    if rows and rows[0][0].strip().lower() in ("username", "user", "name", "login"):
        rows = rows[1:]
    if not rows:
        raise ClassError("the file lists no user names")
    if len(rows) > MAX_IMPORT:
        raise ClassError(f"at most {MAX_IMPORT} learners at a time")
    names = []
    for number, row in enumerate(rows, start=1):
        name = row[0].strip()
        if not USERNAME.match(name):
            raise ClassError(f'line {number}: "{name[:40]}" is not a user name (letters, digits and @ . + - _, '
                             f"at most 150)")
        names.append(name)
    users = get_user_model().objects
    imported = []
    with transaction.atomic():
        for name in dict.fromkeys(names):
            user = users.filter(username=name).first()
            password = None
            if user is None:
                password = _initial_password()
                user = users.create_user(name, password=password)
            joined = not Membership.objects.filter(classroom=classroom, learner=user).exists()
            if joined:
                Membership.objects.create(classroom=classroom, learner=user)
            imported.append(Imported(name, password, joined))
    _members_changed(classroom)
    return imported


def _initial_password() -> str:
    while True:
        words = "-".join(secrets.choice(_WORDS) for _ in range(3)) + f"-{secrets.randbelow(90) + 10}"
        try:
            validate_password(words)
            return words
        except ValidationError:
            continue


_WORDS = ("pod", "node", "kube", "helm", "mesh", "yaml", "rollout", "replica", "ingress", "volume", "secret",
          "probe", "taint", "label", "cluster", "service", "daemon", "cron", "quota", "sched", "etcd", "proxy")


def _members_changed(classroom: Classroom) -> None:
    from classroom import notify
    notify.members_changed(classroom.pk)


# -------------------------------------------------------------------------------------- the grid

def _lesson_columns(classroom: Classroom) -> list[dict]:
    known = catalog()
    columns = []
    for lesson_id in classroom.lessons:
        lesson = known.lesson(lesson_id)
        if lesson is not None:
            columns.append({"id": lesson.id, "title": lesson.title, "url": lesson.url,
                            "steps": [step.title for step in lesson.steps]})
    return columns


def _minutes(since: datetime, until: datetime | None) -> int:
    return max(0, int(((until or timezone.now()) - since).total_seconds() // 60))


def _cell(lesson: dict, row: LessonProgress | None, steps: list[StepProgress], stuck_minutes: int) -> dict:
    total = len(lesson["steps"])
    if row is None:
        return {"lesson": lesson["id"], "state": "new", "step": 0, "steps": total}
    done = row.finished is not None and row.current_step >= total
    current = next((s for s in steps if s.index == row.current_step), None)
    cell = {"lesson": lesson["id"], "state": "done" if done else "started",
            "step": min(row.current_step, total), "steps": total,
            "minutes": _minutes(row.started, row.finished if done else None),
            "hints": sum(s.hints for s in steps), "solutions": sum(1 for s in steps if s.solution),
            "attempts": current.attempts if current and not done else 0,
            "stepTitle": lesson["steps"][row.current_step] if not done and row.current_step < total else "",
            "reason": current.last_reason if current and not done else "", "stuck": ""}
    if not done and current is not None and current.completed is None:
        idle = _minutes(current.began, None)
        if current.attempts >= STUCK_ATTEMPTS and current.last_reason:
            cell["stuck"] = f"the same check keeps failing ({current.attempts} attempts)"
        elif idle >= stuck_minutes:
            cell["stuck"] = f"no progress for {idle} min"
    return cell


def _rows(classroom: Classroom, learners: list, lessons: list[dict]) -> list[dict]:
    lesson_ids = [lesson["id"] for lesson in lessons]
    progress_rows = list(LessonProgress.objects.filter(user__in=learners, lesson__in=lesson_ids))
    steps_by_progress: dict[int, list[StepProgress]] = {}
    for step in StepProgress.objects.filter(progress__in=progress_rows):
        steps_by_progress.setdefault(step.progress_id, []).append(step)
    by_user: dict[int, dict[str, LessonProgress]] = {}
    for row in progress_rows:
        by_user.setdefault(row.user_id, {})[row.lesson] = row
    open_clusters = [row.cluster_id for row in progress_rows if row.cluster_id and row.finished is None]
    crashing = selectors.crashlooping_pods(open_clusters) if open_clusters else {}
    out = []
    for learner in learners:
        mine = by_user.get(learner.pk, {})
        cells = [_cell(lesson, mine.get(lesson["id"]), steps_by_progress.get(mine[lesson["id"]].pk, [])
                       if lesson["id"] in mine else [], classroom.stuck_minutes) for lesson in lessons]
        stuck = [f'{lesson["title"]}, step {cell["step"] + 1}: {cell["stuck"]}'
                 for lesson, cell in zip(lessons, cells, strict=True) if cell.get("stuck")]
        for row in mine.values():
            pods = crashing.get(row.cluster_id) or []
            if pods:
                stuck.append(f"{len(pods)} pod{'s' if len(pods) != 1 else ''} crash-looping: {', '.join(pods[:3])}")
        active = [r.updated for r in mine.values()]
        out.append({"learner": learner.username, "cells": cells, "stuck": stuck,
                    "lastActive": max(active).isoformat() if active else None})
    return out


def class_grid(classroom: Classroom) -> dict:
    """The whole grid: {"lessons": [{id, title, url, steps}], "rows": [{learner, cells, stuck, lastActive}]}."""
    lessons = _lesson_columns(classroom)
    learners = [m.learner for m in Membership.objects.filter(classroom=classroom).select_related("learner")]
    return {"class": classroom.pk, "lessons": lessons, "rows": _rows(classroom, learners, lessons)}


def class_rows(classroom: Classroom, learner_ids: list[int]) -> list[dict]:
    """The rows of these learners (their progress moved), in four queries however many; those not in the
    class are left out."""
    learners = [m.learner for m in Membership.objects.filter(classroom=classroom, learner_id__in=learner_ids)
                .select_related("learner")]
    return _rows(classroom, learners, _lesson_columns(classroom)) if learners else []


def class_row(classroom: Classroom, learner_id: int) -> dict | None:
    """One learner's row; None if they are not in the class."""
    rows = class_rows(classroom, [learner_id])
    return rows[0] if rows else None


def member_ids(classroom: Classroom) -> list[int]:
    return list(Membership.objects.filter(classroom=classroom).values_list("learner_id", flat=True))


def class_csv(classroom: Classroom) -> str:
    """The class's progress: one line per learner and assigned lesson."""
    grid = class_grid(classroom)
    titles = {lesson["id"]: lesson["title"] for lesson in grid["lessons"]}
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["learner", "lesson", "title", "state", "steps done", "steps", "minutes", "hints",
                     "solutions", "attempts on current step", "stuck"])
    for row in grid["rows"]:
        for cell in row["cells"]:
            writer.writerow([row["learner"], cell["lesson"], titles[cell["lesson"]], cell["state"], cell["step"],
                             cell["steps"], cell.get("minutes", ""), cell.get("hints", ""),
                             cell.get("solutions", ""), cell.get("attempts", ""), cell.get("stuck", "")])
    return out.getvalue()


# ------------------------------------------------------------------------------ a learner, helped

def learner_detail(classroom: Classroom, learner) -> dict:
    """What the instructor's view of one learner shows beside their cluster: each assigned lesson's state,
    the step they are on and why its checks do not hold, their clusters, their terminal's last lines."""
    row = _rows(classroom, [learner], _lesson_columns(classroom))[0]
    progress_rows = {p.lesson: p for p in LessonProgress.objects.filter(user=learner, lesson__in=classroom.lessons)
                     .select_related("cluster")}
    current = max(progress_rows.values(), key=lambda p: p.updated, default=None)
    return {"row": row, "lessons": _lesson_columns(classroom), "current": current,
            "clusters": list(selectors.clusters_of_user(learner)),
            "progress": progress_rows}


def learner_reset(*, classroom: Classroom, learner, lesson_id: str) -> None:
    """Back to the lesson's setup: the learner's lesson cluster reset, their steps from the first."""
    lesson = catalog().lesson(lesson_id)
    if lesson is None or lesson_id not in classroom.lessons:
        raise ClassError("that lesson is not assigned to this class")
    lesson_progress.start(user=learner, lesson=lesson)


def learner_clock(*, learner, cluster_name: str, action: str, speed: float | None = None) -> None:
    cluster = selectors.cluster_of_user(learner, cluster_name)
    if cluster is None:
        raise ClassError(f'{learner.username} has no cluster "{cluster_name}"')
    if action == "pause":
        actions.cluster_clock(cluster=cluster, pause=True)
    elif action == "resume":
        actions.cluster_clock(cluster=cluster, resume=True)
    elif action == "speed" and speed is not None:
        try:
            actions.cluster_clock(cluster=cluster, speed=speed)
        except actions.ClusterError as error:
            raise ClassError(str(error)) from None
    else:
        raise ClassError('the clock action is "pause", "resume" or "speed" (with a speed)')


def learner_message(*, instructor, learner, text: str) -> None:
    text = (text or "").strip()
    if not text:
        raise ClassError("the message is empty")
    if len(text) > MAX_MESSAGE:
        raise ClassError(f"a message is at most {MAX_MESSAGE} characters")
    lesson_notify.message_for(learner.pk, instructor.get_full_name() or instructor.username, text)
