"""`manage.py lesson lint`: what is wrong with the lesson files, each problem with its file and line.

The catalog's own checks (lessons/catalog.py: schema, check kinds, patterns, prerequisites, every folder
listed) and, beyond them, the manifests a lesson gives the learner — its setup's manifests and files,
its solutions' files and its `file=` code blocks — through the real API pipeline as the editor checks
them (a dry run of `kubectl apply -f`), on a fresh cluster with the lesson's setup applied. The cluster
is made in a transaction that is rolled back: linting leaves nothing behind.
"""
from __future__ import annotations

import re
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import transaction

from clusters import actions
from clusters.web.validation import manifest_validate  # the editor's own check, reused as is
from lessons.catalog import CONTENT, Lesson, Problem, load
from lessons.markdown import code_blocks

# A namespace made by an earlier step of the lesson is not there on the lint's fresh cluster.
_LATER_NAMESPACE = re.compile(r'namespaces "[^"]+" not found')


# Only these are manifests; other editor files (app.properties, an .env for --from-env-file) are data.
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


class _Rollback(Exception):
    pass


def _manifest_problems(cluster, lesson: Lesson, where: str, text: str) -> list[Problem]:
    result = manifest_validate(cluster=cluster, text=text)
    return [Problem(where, d.span.start_line if hasattr(d, "span") else 0, d.message)
            for d in result.diagnostics if d.severity == "error" and not _LATER_NAMESPACE.search(d.message)]


def _lesson_problems(lesson: Lesson, user) -> list[Problem]:
    problems: list[Problem] = []
    try:
        with transaction.atomic():
            cluster = actions.cluster_create(owner=user, name="lint", workers=lesson.setup.workers)
            for name, text in lesson.setup.manifests:
                try:
                    actions.manifests_apply(cluster=cluster, text=text)
                except Exception as error:
                    problems.append(Problem(f"{lesson.folder}/{name}", 0,
                                            f"setup manifest: {getattr(error, 'message', None) or error}"))
            for name, text in lesson.setup.files:
                if name.endswith(MANIFEST_SUFFIXES):
                    problems += _manifest_problems(cluster, lesson, f"{lesson.folder}/{name}", text)
            for step in lesson.steps:
                for name, text in step.solution.files:
                    if not name.endswith(MANIFEST_SUFFIXES):
                        continue
                    problems += [Problem(step.path, 0, f"solution file {name}: line {p.line}: {p.message}")
                                 for p in _manifest_problems(cluster, lesson, step.path, text)]
                for _lang, attributes, text in code_blocks(step.body):
                    if attributes.get("file"):
                        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", attributes["file"]):
                            problems.append(Problem(step.path, 0, f'code block file="{attributes["file"]}" is not '
                                                                  "a file name the editor accepts"))
                            continue
                        problems += [Problem(step.path, 0, f'code block {attributes["file"]}: line {p.line}: '
                                                           f"{p.message}")
                                     for p in _manifest_problems(cluster, lesson, step.path, text)]
            raise _Rollback
    except _Rollback:
        pass
    return problems


def lint(root: Path = CONTENT, *, manifests: bool = True) -> tuple[int, list[Problem]]:
    """(lessons loaded, problems) for the content under root."""
    the_catalog, problems = load(root)
    lessons = the_catalog.lessons()
    if manifests and lessons:
        with transaction.atomic():
            user, _ = get_user_model().objects.get_or_create(username="lesson-lint")
            for lesson in lessons:
                problems += _lesson_problems(lesson, user)
            transaction.set_rollback(True)
    return len(lessons), problems
