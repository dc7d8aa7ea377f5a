"""The lessons as files say them: tracks, lessons, steps, checks (lessons/README.md is the format).

Pure: files in, frozen dataclasses out. `load(root)` reads every track and returns the catalog with the
problems it found, each with its file and line; a lesson with a problem is left out of the catalog (the
others still load), so a typo in one lesson file never takes the playground down — `manage.py lesson
lint` reports it. `catalog()` is the process's catalog of lessons/content, read once.
"""
from __future__ import annotations

import functools
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lessons import checks

log = logging.getLogger(__name__)

# PLAYGROUND_LESSONS_DIR serves other content (an author's draft, a benchmark's lesson) instead.
CONTENT = Path(os.environ.get("PLAYGROUND_LESSONS_DIR") or Path(__file__).resolve().parent / "content")
SLUG = re.compile(r"^[a-z0-9](?:[-a-z0-9]{0,40}[a-z0-9])?$")
STEP_FILE = re.compile(r"^\d{2}-[a-z0-9][-a-z0-9]*\.md$")
FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")   # as the editor's files are named
MIN_SPEED, MAX_SPEED, MAX_WORKERS = 1, 60, 10
MAX_FILE_BYTES = 64 * 1024

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Problem:
    path: str          # relative to the content folder
    line: int          # 1-based; 0 when the whole file is meant
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}" if self.line else f"{self.path}: {self.message}"


@dataclass(frozen=True)
class Solution:
    files: tuple[tuple[str, str], ...] = ()
    commands: tuple[str, ...] = ()
    text: str = ""


@dataclass(frozen=True)
class Question:
    choices: tuple[str, ...] | None      # None: a short answer
    answer: tuple[int, ...] = ()          # the right choices' indexes
    accept: tuple[str, ...] = ()          # a short answer's regular expressions
    explanation: str = ""
    sample: str = ""                      # a short answer the patterns accept (the solution shows it)

    @property
    def multiple(self) -> bool:
        return self.choices is not None and len(self.answer) > 1

    def is_correct(self, given: Any) -> bool:
        """Whether an answer as the panel sends it (an index, a list of them, or a text) is right."""
        if self.choices is None:
            if not isinstance(given, str):
                return False
            text = given.strip()
            return any(re.fullmatch(pattern, text, re.IGNORECASE) for pattern in self.accept)
        picked = [given] if isinstance(given, int) and not isinstance(given, bool) else given
        if not isinstance(picked, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in picked):
            return False
        return sorted(set(picked)) == sorted(self.answer)


@dataclass(frozen=True)
class Step:
    index: int
    slug: str
    title: str
    body: str                              # Markdown
    checks: tuple[checks.Check, ...] = ()
    hints: tuple[str, ...] = ()
    solution: Solution = Solution()
    question: Question | None = None
    path: str = ""

    @property
    def kind(self) -> str:
        return "question" if self.question is not None else "task"


@dataclass(frozen=True)
class Setup:
    workers: int = 2
    speed: float = 1.0
    manifests: tuple[tuple[str, str], ...] = ()        # (file name, text), applied in order
    patches: tuple[dict, ...] = ()                      # {kind, name, namespace?, patch}
    files: tuple[tuple[str, str], ...] = ()             # put in the learner's editor


@dataclass(frozen=True)
class Lesson:
    id: str
    track: str
    slug: str
    title: str
    summary: str
    minutes: int
    requires: tuple[str, ...]
    setup: Setup
    steps: tuple[Step, ...]
    folder: str = ""

    @property
    def url(self) -> str:
        return f"/lessons/{self.track}/{self.slug}/"


@dataclass(frozen=True)
class Track:
    id: str
    title: str
    summary: str
    order: int
    lessons: tuple[Lesson, ...]


@dataclass(frozen=True)
class Catalog:
    tracks: tuple[Track, ...] = ()
    _by_id: dict = field(default_factory=dict, compare=False, repr=False)

    def lesson(self, lesson_id: str) -> Lesson | None:
        return self._by_id.get(lesson_id)

    def lessons(self) -> list[Lesson]:
        return [lesson for track in self.tracks for lesson in track.lessons]

    def next_after(self, lesson: Lesson) -> Lesson | None:
        """The lesson the catalog lists after this one (across tracks)."""
        ordered = self.lessons()
        for i, candidate in enumerate(ordered):
            if candidate.id == lesson.id:
                return ordered[i + 1] if i + 1 < len(ordered) else None
        return None


class Invalid(Exception):
    """One problem in one file; `line` 0 for the whole file."""

    def __init__(self, message: str, line: int = 0) -> None:
        super().__init__(message)
        self.line = line


# ------------------------------------------------------------------------------------------- YAML

def _yaml(text: str) -> tuple[Any, Any]:
    """The document's data and its node tree (for line numbers); Invalid on a syntax error."""
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        raise Invalid(f"YAML: {getattr(error, 'problem', None) or error}", mark.line + 1 if mark else 0) from None
    if node is None:
        return None, None
    return yaml.load(text, Loader=_Loader), node


def _line_of(node: Any, *path: Any) -> int:
    """The line of the value at `path` in a composed node tree (the nearest existing ancestor's line)."""
    line = node.start_mark.line + 1 if node is not None else 0
    for key in path:
        if isinstance(node, yaml.MappingNode):
            found = next((v for k, v in node.value if k.value == key), None)
            found_key = next((k for k, v in node.value if k.value == key), None)
            if found is None:
                return line
            line, node = found_key.start_mark.line + 1, found
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _fields(data: Any, node: Any, where: tuple, allowed: set[str], required: set[str], what: str) -> dict:
    if not isinstance(data, dict):
        raise Invalid(f"{what} must be a mapping", _line_of(node, *where))
    for key in data:
        if key not in allowed:
            raise Invalid(f'unknown field "{key}" in {what} (known: {", ".join(sorted(allowed))})',
                          _line_of(node, *where, key))
    for key in sorted(required - set(data)):
        raise Invalid(f'{what} needs "{key}"', _line_of(node, *where))
    return data


def _text(data: dict, key: str, node: Any, where: tuple, *, default: str | None = None) -> str:
    value = data.get(key, default)
    if not isinstance(value, str) or not value.strip():
        raise Invalid(f"{key} must be a non-empty text", _line_of(node, *where, key))
    return value.strip()


def _texts(data: dict, key: str, node: Any, where: tuple) -> tuple[str, ...]:
    value = data.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise Invalid(f"{key} must be a list of texts", _line_of(node, *where, key))
    return tuple(v.strip() for v in value)


def _read(path: Path) -> str:
    if path.stat().st_size > MAX_FILE_BYTES:
        raise Invalid(f"larger than {MAX_FILE_BYTES // 1024} KiB")
    return path.read_text(encoding="utf-8")


# ------------------------------------------------------------------------------------------ steps

def _solution(data: Any, node: Any, folder: Path) -> Solution:
    where = ("solution",)
    data = _fields(data, node, where, {"files", "commands", "text"}, set(), "solution")
    files = data.get("files") or {}
    if not isinstance(files, dict):
        raise Invalid("solution.files must map file names to their text", _line_of(node, *where, "files"))
    for name, text in files.items():
        if not isinstance(name, str) or not FILE_NAME.match(name) or not isinstance(text, str):
            raise Invalid(f'solution.files: "{name}" must be a file name (letters, digits, . _ -) with a text',
                          _line_of(node, *where, "files", name))
    commands = _texts(data, "commands", node, where)
    for i, command in enumerate(commands):
        if not command.startswith("kubectl "):
            raise Invalid(f'solution.commands: "{command}" is not a kubectl command',
                          _line_of(node, *where, "commands", i))
    text = data.get("text") or ""
    if not isinstance(text, str):
        raise Invalid("solution.text must be a text", _line_of(node, *where, "text"))
    return Solution(tuple((str(k), v) for k, v in files.items()), commands, text.strip())


def _question(data: Any, node: Any) -> Question:
    where = ("question",)
    data = _fields(data, node, where, {"choices", "answer", "accept", "sample", "explanation"}, {"explanation"},
                   "question")
    explanation = _text(data, "explanation", node, where)
    if "choices" in data:
        choices = _texts(data, "choices", node, where)
        if len(choices) < 2:
            raise Invalid("question.choices needs at least two choices", _line_of(node, *where, "choices"))
        answers = data.get("answer")
        answers = answers if isinstance(answers, list) else [answers]
        indexes = []
        for answer in answers:
            if answer not in choices:
                raise Invalid(f'question.answer "{answer}" is not one of the choices', _line_of(node, *where, "answer"))
            indexes.append(choices.index(answer))
        for key in ("accept", "sample"):
            if key in data:
                raise Invalid(f"question: {key} is for short answers (without choices)", _line_of(node, *where, key))
        return Question(choices, tuple(sorted(set(indexes))), (), explanation)
    if "answer" in data:
        raise Invalid("question: a short answer is given by accept (regular expressions), not answer",
                      _line_of(node, *where, "answer"))
    accept = _texts(data, "accept", node, where)
    if not accept:
        raise Invalid("question needs choices and answer, or accept", _line_of(node, *where))
    for pattern in accept:
        try:
            re.compile(pattern)
        except re.error as error:
            raise Invalid(f'question.accept: "{pattern}" is not a regular expression: {error}',
                          _line_of(node, *where, "accept")) from None
    sample = data.get("sample")
    if not isinstance(sample, str) or not sample.strip():
        raise Invalid("question: a short answer needs sample: an answer that accept takes (the solution shows it)",
                      _line_of(node, *where))
    question = Question(None, (), accept, explanation, sample.strip())
    if not question.is_correct(question.sample):
        raise Invalid(f'question: accept does not take the sample "{sample.strip()}"', _line_of(node, *where, "sample"))
    return question


def _front_matter(text: str) -> tuple[str, str, int]:
    """(front matter, body, the body's first line) of a step file."""
    if not text.startswith("---\n"):
        raise Invalid('a step file starts with front matter between "---" lines', 1)
    end = text.find("\n---\n", 3)
    if end < 0:
        raise Invalid('the front matter has no closing "---" line', 1)
    head = text[4:end + 1]
    return head, text[end + 5:], head.count("\n") + 3


def _step(path: Path, index: int, folder: Path) -> Step:
    head, body, _ = _front_matter(_read(path))
    try:
        data, node = _yaml(head)
    except Invalid as error:
        raise Invalid(str(error), error.line + 1 if error.line else 1) from None
    if data is None:
        data = {}
    try:
        data = _fields(data, node, (), {"title", "checks", "hints", "solution", "question"}, {"title"}, "a step")
        title = _text(data, "title", node, ())
        step_checks: list[checks.Check] = []
        raw_checks = data.get("checks") or []
        if not isinstance(raw_checks, list):
            raise Invalid("checks must be a list", _line_of(node, "checks"))
        for i, raw in enumerate(raw_checks):
            try:
                step_checks.append(checks.parse(raw))
            except checks.CheckError as error:
                raise Invalid(f"check {i + 1}: {error}", _line_of(node, "checks", i)) from None
        question = _question(data["question"], node) if "question" in data else None
        if question is not None and step_checks:
            raise Invalid("a step has checks or a question, not both", _line_of(node, "question"))
        if question is None and not step_checks:
            raise Invalid("a step needs checks or a question: what finishes it?", 1)
        hints = _texts(data, "hints", node, ())
        solution = _solution(data.get("solution") or {}, node, folder)
        if question is None and not (solution.commands or solution.files):
            raise Invalid("a step with checks needs a solution (files and/or commands)", _line_of(node, "solution"))
    except Invalid as error:
        raise Invalid(str(error), error.line + 1 if error.line else 0) from None   # + the opening "---"
    if not body.strip():
        raise Invalid("the step has no text")
    return Step(index, path.stem[3:], title, body.strip() + "\n", tuple(step_checks), hints, solution, question,
                str(path))


# ---------------------------------------------------------------------------------------- lessons

def _lesson(folder: Path, track: str, problems: list[Problem], root: Path) -> Lesson | None:
    lesson_id = f"{track}/{folder.name}"
    spec = folder / "lesson.yaml"

    def problem(path: Path, error: Invalid) -> None:
        problems.append(Problem(str(path.relative_to(root)), error.line, str(error)))

    if not spec.is_file():
        problems.append(Problem(str(folder.relative_to(root)), 0, "no lesson.yaml"))
        return None
    try:
        data, node = _yaml(_read(spec))
        data = _fields(data, node, (), {"title", "summary", "minutes", "requires", "setup"},
                       {"title", "summary", "minutes"}, "lesson.yaml")
        minutes = data["minutes"]
        if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= 240:
            raise Invalid("minutes must be a whole number from 1 to 240", _line_of(node, "minutes"))
        requires = _texts(data, "requires", node, ())
        setup = _setup(data.get("setup") or {}, node, folder)
        lesson = (_text(data, "title", node, ()), _text(data, "summary", node, ()), minutes, requires, setup)
    except Invalid as error:
        problem(spec, error)
        return None
    steps = []
    files = sorted(p for p in folder.glob("*.md"))
    for path in files:
        if not STEP_FILE.match(path.name):
            problems.append(Problem(str(path.relative_to(root)), 0, "a step file is named NN-<slug>.md"))
            continue
        try:
            steps.append(_step(path, len(steps), folder))
        except Invalid as error:
            problem(path, error)
            return None
    if not steps:
        problems.append(Problem(str(folder.relative_to(root)), 0, "the lesson has no steps (NN-<slug>.md files)"))
        return None
    steps = [Step(**{**step.__dict__, "path": str(Path(step.path).relative_to(root))}) for step in steps]
    return Lesson(lesson_id, track, folder.name, *lesson, tuple(steps), str(folder.relative_to(root)))


def _setup(data: Any, node: Any, folder: Path) -> Setup:
    where = ("setup",)
    data = _fields(data, node, where, {"workers", "speed", "manifests", "patches", "files"}, set(), "setup")
    workers = data.get("workers", 2)
    if isinstance(workers, bool) or not isinstance(workers, int) or not 0 <= workers <= MAX_WORKERS:
        raise Invalid(f"setup.workers must be 0 to {MAX_WORKERS}", _line_of(node, *where, "workers"))
    speed = data.get("speed", 1)
    if isinstance(speed, bool) or not isinstance(speed, (int, float)) or not MIN_SPEED <= speed <= MAX_SPEED:
        raise Invalid(f"setup.speed must be {MIN_SPEED} to {MAX_SPEED}", _line_of(node, *where, "speed"))

    def files_of(key: str) -> tuple[tuple[str, str], ...]:
        out = []
        for i, name in enumerate(_texts(data, key, node, where)):
            path = folder / name
            if not FILE_NAME.match(name) or not path.is_file():
                raise Invalid(f'setup.{key}: no file "{name}" in the lesson folder', _line_of(node, *where, key, i))
            out.append((name, _read(path)))
        return tuple(out)

    patches = data.get("patches") or []
    if not isinstance(patches, list):
        raise Invalid("setup.patches must be a list", _line_of(node, *where, "patches"))
    for i, patch in enumerate(patches):
        _fields(patch, node, (*where, "patches", i), {"kind", "name", "namespace", "patch"},
                {"kind", "name", "patch"}, "a patch")
        if not isinstance(patch["patch"], dict):
            raise Invalid("a patch's patch is a mapping (a JSON merge patch)", _line_of(node, *where, "patches", i))
    return Setup(workers, float(speed), files_of("manifests"), tuple(patches), files_of("files"))


def _track(folder: Path, problems: list[Problem], root: Path) -> Track | None:
    spec = folder / "track.yaml"
    try:
        data, node = _yaml(_read(spec)) if spec.is_file() else (None, None)
        if data is None:
            raise Invalid("no track.yaml (title, summary, order, lessons)")
        data = _fields(data, node, (), {"title", "summary", "order", "lessons"},
                       {"title", "summary", "order", "lessons"}, "track.yaml")
        order = data["order"]
        if isinstance(order, bool) or not isinstance(order, int):
            raise Invalid("order must be a whole number", _line_of(node, "order"))
        listed = _texts(data, "lessons", node, ())
        title, summary = _text(data, "title", node, ()), _text(data, "summary", node, ())
    except Invalid as error:
        problems.append(Problem(str(spec.relative_to(root)), error.line, str(error)))
        return None
    present = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))
    for name in present:
        if name not in listed:
            problems.append(Problem(str(spec.relative_to(root)), _line_of(node, "lessons"),
                                    f'the lesson folder "{name}" is not listed in lessons'))
    lessons = []
    for i, name in enumerate(listed):
        if not SLUG.match(name) or name not in present:
            problems.append(Problem(str(spec.relative_to(root)), _line_of(node, "lessons", i),
                                    f'no lesson folder "{name}"'))
            continue
        lesson = _lesson(folder / name, folder.name, problems, root)
        if lesson is not None:
            lessons.append(lesson)
    return Track(folder.name, title, summary, order, tuple(lessons))


def load(root: Path = CONTENT) -> tuple[Catalog, list[Problem]]:
    """Every track under root, and what is wrong with the files (broken lessons are left out)."""
    problems: list[Problem] = []
    tracks = []
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))) \
        if root.is_dir() else []
    for folder in folders:
        if not SLUG.match(folder.name):
            problems.append(Problem(folder.name, 0, "a track folder's name is a slug (a-z, 0-9, -)"))
            continue
        track = _track(folder, problems, root)
        if track is not None:
            tracks.append(track)
    tracks.sort(key=lambda t: (t.order, t.id))
    by_id = {lesson.id: lesson for track in tracks for lesson in track.lessons}
    for lesson in by_id.values():
        for required in lesson.requires:
            if required not in by_id:
                problems.append(Problem(f"{lesson.folder}/lesson.yaml", 0,
                                        f'requires "{required}", which is not a lesson'))
    return Catalog(tuple(tracks), by_id), problems


@functools.cache
def catalog() -> Catalog:
    """The lessons of lessons/content, read once per process; problems are logged (lint reports them)."""
    loaded, problems = load()
    for problem in problems:
        log.warning("lesson content: %s", problem)
    return loaded
