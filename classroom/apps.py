from django.apps import AppConfig


class ClassroomConfig(AppConfig):
    name = "classroom"

    def ready(self) -> None:
        # An instructor reads the clusters of their classes' learners, read-only (clusters asks; it never
        # imports this app).
        from classroom.access import teaches
        from clusters import selectors

        selectors.allow_viewers(teaches)
