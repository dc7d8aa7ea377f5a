"""`manage.py lesson lint|list`: check the lesson files; list the catalog."""
from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from lessons.catalog import CONTENT, load
from lessons.lint import lint


class Command(BaseCommand):
    help = "Check every lesson file (lint), or list the lessons (list)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        check = sub.add_parser("lint", help="validate every lesson file; exit status 1 if anything is wrong")
        check.add_argument("--content", type=Path, default=CONTENT,
                           help="the content folder (default: lessons/content)")
        check.add_argument("--no-manifests", action="store_true",
                           help="skip the dry runs of the manifests through the API pipeline")
        listing = sub.add_parser("list", help="the tracks and their lessons, with their steps")
        listing.add_argument("--content", type=Path, default=CONTENT)

    def handle(self, *args, action: str, content: Path, **options):
        if action == "list":
            the_catalog, problems = load(content)
            for track in the_catalog.tracks:
                self.stdout.write(f"{track.id}: {track.title}")
                for lesson in track.lessons:
                    kinds = "".join("?" if s.question else "✓" for s in lesson.steps)
                    self.stdout.write(f"  {lesson.id:40} {lesson.minutes:3} min  {kinds}  {lesson.title}")
            if problems:
                self.stderr.write(f"{len(problems)} problem(s): run `manage.py lesson lint`")
            return
        count, problems = lint(content, manifests=not options["no_manifests"])
        for problem in problems:
            self.stdout.write(str(problem))
        if problems:
            raise CommandError(f"{len(problems)} problem(s) in the lessons")
        self.stdout.write(f"{count} lessons, no problems")
