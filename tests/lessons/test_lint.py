"""The lesson content is valid: `manage.py lesson lint` finds nothing (lessons/lint.py), and the catalog
covers the syllabus (every topic of lessons/README.md's table names a lesson that exists)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core.management import call_command

from lessons.catalog import load
from lessons.lint import lint

README = Path(__file__).resolve().parents[2] / "lessons" / "README.md"


@pytest.mark.django_db
def test_every_lesson_file_lints_clean():
    count, problems = lint()
    assert [str(p) for p in problems] == []
    assert count >= 20


@pytest.mark.django_db
def test_the_command_says_so(capsys):
    call_command("lesson", "lint")
    assert re.fullmatch(r"\d+ lessons, no problems\n", capsys.readouterr().out)


def test_every_syllabus_topic_has_a_lesson_and_every_lesson_3_to_8_steps():
    catalog, _ = load()
    table = README.read_text().split("## The syllabus", 1)[1]
    rows = [line.split("|")[1:3] for line in table.splitlines() if line.startswith("| ") and "---" not in line]
    rows = [(topic.strip(), lesson.strip().strip("`")) for topic, lesson in rows[1:]]
    assert len(rows) >= 20
    for topic, lesson_ids in rows:
        for lesson_id in re.split(r"[,\s]+", lesson_ids):
            assert catalog.lesson(lesson_id.strip("`")) is not None, f"{topic}: no lesson {lesson_id}"
    for lesson in catalog.lessons():
        assert 3 <= len(lesson.steps) <= 8, f"{lesson.id} has {len(lesson.steps)} steps"
