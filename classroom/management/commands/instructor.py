"""`manage.py instructor grant|revoke|list`: who may run classes (the "instructors" group)."""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from classroom import access


class Command(BaseCommand):
    help = "Grant or revoke the instructor role, or list the instructors."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        for name, text in (("grant", "make USER an instructor"), ("revoke", "USER is no longer an instructor")):
            command = sub.add_parser(name, help=text)
            command.add_argument("user")
        sub.add_parser("list", help="the instructors")

    def handle(self, *args, action: str, **options):
        if action == "list":
            group = access.instructors_group()
            for user in group.user_set.order_by("username"):
                self.stdout.write(user.username)
            return
        user = get_user_model().objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f'no user "{options["user"]}" (they sign up first, or an operator adds them)')
        if action == "grant":
            access.grant(user)
            self.stdout.write(f"{user.username} is an instructor: they create classes at /classes/")
        else:
            access.revoke(user)
            self.stdout.write(f"{user.username} is no longer an instructor")
