"""Request bodies and manifests → Python values, the way kube-apiserver reads them.

JSON is parsed with the C `json` module; YAML with libyaml's event stream
(yaml.CSafeLoader's parser, pure-Python SafeLoader's when libyaml is
missing) and an iterative builder written here rather than PyYAML's
constructor, because:

* Kubernetes reads YAML with sigs.k8s.io/yaml, i.e. go-yaml v2 (YAML 1.1 with
  Go's own resolver): `y`/`n`/`on`/`off` are booleans, `0755` is octal,
  `1e3` is a number, `12:30` and timestamps stay strings, non-string keys
  become strings (`on:` → "true"), `<<` merges maps. PyYAML differs on
  several of these, so scalars are resolved here.
* Alias bombs must be refused before anything is expanded: every node's
  expanded size is computed arithmetically, aliases add the size of what
  they point at, and a document whose aliases would add more than
  ALIAS_EXPANSION_LIMIT nodes is rejected ("excessive aliasing", go-yaml's
  wording) without ever being materialized.
* Nesting depth is bounded while building (no recursion anywhere), and the
  builder can record the line of every field for the editor.

Errors are 400 BadRequest with the real server's wording (libyaml's messages
are go-yaml's, which is a port of libyaml; JSON messages are Go
encoding/json's), always with a line and a column, also attached to the
ApiError as `.line` / `.column` for the web editor.
"""
from __future__ import annotations

import base64
import binascii
import copy
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from clusters.apiserver import errors

try:  # libyaml is ~10x faster; the builder below works the same with either parser
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _Loader = yaml.SafeLoader

MAX_DEPTH = 128                 # nested maps/lists per document (Kubernetes objects use < 40)
ALIAS_EXPANSION_LIMIT = 10_000  # extra nodes aliases may add to one document

JSON_TYPES = frozenset({
    "application/json", "application/merge-patch+json", "application/strategic-merge-patch+json",
    "application/json-patch+json",
})
YAML_TYPES = frozenset({"application/yaml", "application/apply-patch+yaml"})
PROTOBUF_TYPE = "application/vnd.kubernetes.protobuf"
_PATCH_TYPES = frozenset({"application/merge-patch+json", "application/strategic-merge-patch+json",
                          "application/json-patch+json"})


def _bad_request(message: str, line: int | None, column: int | None) -> errors.ApiError:
    err = errors.bad_request(message)
    err.line = line      # type: ignore[attr-defined]  # for the editor's underline
    err.column = column  # type: ignore[attr-defined]
    return err


# ---------------------------------------------------------------------------
# decode_body
# ---------------------------------------------------------------------------

def media_type(content_type: str | None) -> str:
    """`application/json; charset=utf-8` → `application/json`."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def decode_body(body: bytes, content_type: str, *, max_bytes: int) -> Any:
    """Parse a request body according to its Content-Type.

    A missing Content-Type (the official Python client sends none) is
    sniffed: `{`/`[` first means JSON, anything else YAML.
    """
    if len(body) > max_bytes:
        raise errors.too_large(f"Request entity too large: limit is {max_bytes}")
    mt = media_type(content_type)
    if not mt:
        mt = "application/json" if body.lstrip()[:1] in (b"{", b"[") else "application/yaml"
    if mt in JSON_TYPES:
        return _decode_json(body, patch=mt in _PATCH_TYPES)
    if mt in YAML_TYPES:
        return _decode_yaml_first(body)
    if mt == PROTOBUF_TYPE:
        from clusters.apiserver.protobuf import decode_protobuf  # written separately; heavy
        return decode_protobuf(body)
    raise errors.unsupported_media_type(content_type)


# --- JSON ------------------------------------------------------------------

def _reject_constant(name: str) -> Any:
    raise ValueError(name)  # NaN / Infinity are not JSON (Python accepts them, Go does not)


def _go_quote_char(ch: str) -> str:
    """encoding/json quoteChar: how Go shows the offending character."""
    if ch == "'":
        return "'\\''"
    if ch == '"':
        return "'\"'"
    quoted = json.dumps(ch)[1:-1] if ch not in "\t\n\r" else {"\t": "\\t", "\n": "\\n", "\r": "\\r"}[ch]
    return f"'{quoted}'"


def _container_at(text: str, pos: int) -> str:
    """'{' or '[': the innermost open container at pos (strings skipped)."""
    stack: list[str] = []
    for match in re.finditer(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', text[:pos]):
        token = match.group()
        if token in "[{":
            stack.append(token)
        elif token in "]}" and stack:
            stack.pop()
    return stack[-1] if stack else ""


_LITERALS = ("true", "false", "null")


def _go_json_message(text: str, err: json.JSONDecodeError) -> str:
    """Python's JSONDecodeError in Go encoding/json's words."""
    pos, msg = err.pos, err.msg
    if pos >= len(text) or msg.startswith("Unterminated string"):
        return "unexpected end of JSON input"
    ch = text[pos]
    if msg.startswith("Expecting value"):
        for literal in _LITERALS:
            if ch == literal[0]:
                for i, expected in enumerate(literal):
                    if pos + i >= len(text):
                        return "unexpected end of JSON input"
                    if text[pos + i] != expected:
                        return (f"invalid character {_go_quote_char(text[pos + i])} in literal "
                                f"{literal} (expecting {_go_quote_char(expected)})")
        return f"invalid character {_go_quote_char(ch)} looking for beginning of value"
    if msg.startswith("Expecting property name"):
        return f"invalid character {_go_quote_char(ch)} looking for beginning of object key string"
    if msg.startswith("Expecting ':'"):
        return f"invalid character {_go_quote_char(ch)} after object key"
    if msg.startswith("Expecting ','"):
        where = "object key:value pair" if _container_at(text, pos) == "{" else "array element"
        return f"invalid character {_go_quote_char(ch)} after {where}"
    if msg.startswith("Extra data"):
        return f"invalid character {_go_quote_char(ch)} after top-level value"
    if msg.startswith("Invalid control character"):
        return f"invalid character {_go_quote_char(ch)} in string literal"
    if msg.startswith("Invalid \\escape") or msg.startswith("Invalid \\u"):
        bad = text[pos + 1] if pos + 1 < len(text) else ch
        return f"invalid character {_go_quote_char(bad)} in string escape code"
    return msg


def _json_depth_ok(text: str) -> tuple[bool, int]:
    """Max nesting ≤ MAX_DEPTH? (and the offset where it was exceeded)."""
    depth = 0
    for match in re.finditer(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return False, match.start()
        elif token in "]}":
            depth -= 1
    return True, 0


def _line_col(text: str, pos: int) -> tuple[int, int]:
    line = text.count("\n", 0, pos) + 1
    return line, pos - (text.rfind("\n", 0, pos) + 1) + 1


def _decode_json(body: bytes, *, patch: bool) -> Any:
    # Go replaces invalid UTF-8 inside strings instead of failing; so do we.
    text = body.decode("utf-8", errors="replace")
    prefix = "" if patch else "couldn't get version/kind; json parse error: "
    if text.count("{") + text.count("[") > MAX_DEPTH:
        ok, pos = _json_depth_ok(text)
        if not ok:
            line, col = _line_col(text, pos)
            raise _bad_request(f"{prefix}exceeded max depth of {MAX_DEPTH} (line {line}, column {col})", line, col)
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        line, col = (exc.lineno, exc.colno) if exc.pos < len(text) else _line_col(text, len(text))
        raise _bad_request(f"{prefix}{_go_json_message(text, exc)} (line {line}, column {col})", line, col) from None
    except ValueError as exc:  # NaN / Infinity constants
        pos = text.find(str(exc))
        line, col = _line_col(text, max(pos, 0))
        ch = text[pos] if pos >= 0 else "N"
        raise _bad_request(f"{prefix}invalid character {_go_quote_char(ch)} looking for beginning of value "
                           f"(line {line}, column {col})", line, col) from None
    except RecursionError:
        raise _bad_request(f"{prefix}exceeded max depth (line 1, column 1)", 1, 1) from None


# --- YAML ------------------------------------------------------------------

_TRUE = frozenset({"y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"})
_FALSE = frozenset({"n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"})
_NULL = frozenset({"", "~", "null", "Null", "NULL"})
_SPECIAL_FLOATS = {".nan": math.nan, ".NaN": math.nan, ".NAN": math.nan,
                   ".inf": math.inf, ".Inf": math.inf, ".INF": math.inf,
                   "+.inf": math.inf, "+.Inf": math.inf, "+.INF": math.inf,
                   "-.inf": -math.inf, "-.Inf": -math.inf, "-.INF": -math.inf}
# strconv.ParseInt(s, 0, 64) after go-yaml strips underscores
_GO_INT = re.compile(r"^[+-]?(0[xX][0-9a-fA-F]+|0[bB][01]+|0[oO][0-7]+|0[0-7]*|[1-9][0-9]*)$")
_GO_UINT = re.compile(r"^(0[xX][0-9a-fA-F]+|0[bB][01]+|0[oO][0-7]+|0[0-7]*|[1-9][0-9]*)$")
_YAML_STYLE_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_DOT_FLOAT = re.compile(r"^\.[0-9]+([eE][-+]?[0-9]+)?$")
_YAML_TAG = "tag:yaml.org,2002:"


class _YamlError(Exception):
    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.message, self.line, self.column = message, line, column


def _go_int(text: str) -> int:
    sign = -1 if text.startswith("-") else 1
    body = text.lstrip("+-")
    if body[:2].lower() == "0x":
        value = int(body[2:], 16)
    elif body[:2].lower() == "0b":
        value = int(body[2:], 2)
    elif body[:2].lower() == "0o":
        value = int(body[2:], 8)
    elif len(body) > 1 and body[0] == "0":
        value = int(body[1:], 8)
    else:
        value = int(body)
    return sign * value


def _resolve_plain(text: str) -> tuple[str, Any]:
    """go-yaml v2 resolve() for an untagged plain scalar: (short tag, value)."""
    if text in _NULL:
        return "!!null", None
    if text in _TRUE:
        return "!!bool", True
    if text in _FALSE:
        return "!!bool", False
    if text in _SPECIAL_FLOATS:
        return "!!float", _SPECIAL_FLOATS[text]
    if text == "<<":
        return "!!merge", "<<"
    first = text[0]
    if first == ".":
        if _DOT_FLOAT.match(text):
            return "!!float", float(text)
    elif first.isdigit() or first in "+-":
        plain = text.replace("_", "")
        if _GO_INT.match(plain):
            value = _go_int(plain)
            if -(2 ** 63) <= value < 2 ** 63:
                return "!!int", value
        if _GO_UINT.match(plain):
            value = _go_int(plain)
            if value < 2 ** 64:
                return "!!int", value
        if _YAML_STYLE_FLOAT.match(plain):
            value = float(plain)
            if not math.isinf(value):  # ParseFloat range error: go-yaml keeps the string
                return "!!float", value
    return "!!str", text


def _json_number(value: Any) -> Any:
    """What survives YAML→JSON→Go: integral floats print without a fraction."""
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise ValueError("NaN" if math.isnan(value) else ("+Inf" if value > 0 else "-Inf"))
        if value.is_integer() and abs(value) < 1e21:
            return int(value)
    return value


def _short(tag: str) -> str:
    return "!!" + tag[len(_YAML_TAG):] if tag.startswith(_YAML_TAG) else tag


def _scalar(event: Any) -> tuple[Any, bool]:
    """(value, is_merge_key) for a ScalarEvent, with go-yaml v2's typing."""
    tag, text = event.tag, event.value
    mark = event.start_mark
    plain = not event.style  # CParser reports plain style as '', the Python parser as None
    if tag in (None, "!"):
        if plain and tag is None:
            short, value = _resolve_plain(text)
            return value, short == "!!merge"
        return text, False
    short = _short(tag)
    if short == "!!str" or short == "!!timestamp":
        return text, False
    if short == "!!binary":
        try:
            raw = base64.b64decode("".join(text.split()), validate=True)
        except (binascii.Error, ValueError):
            raise _YamlError("!!binary value contains invalid base64 data", mark.line + 1, mark.column + 1) from None
        return raw.decode("utf-8", errors="replace"), False
    if short == "!!merge":
        return "<<", True
    if short in ("!!int", "!!float", "!!bool", "!!null"):
        rshort, value = _resolve_plain(text) if plain else ("!!str", text)
        if short == "!!float" and rshort == "!!int":
            return float(value), False
        if rshort != short:
            raise _YamlError(f"cannot decode {rshort} `{text}` as a {short}", mark.line + 1, mark.column + 1)
        return value, False
    raise _YamlError(f"cannot construct a value with tag {tag} (only standard YAML tags are accepted)",
                     mark.line + 1, mark.column + 1)


def _key_string(key: Any, mark: Any) -> str:
    """sigs.k8s.io/yaml: JSON keys are strings; ints, floats and bools are printed."""
    if isinstance(key, str):
        return key
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, int):
        return str(key)
    if isinstance(key, float):
        if math.isnan(key):
            return ".nan"
        if math.isinf(key):
            return ".inf" if key > 0 else "-.inf"
        return _go_format_float32(key)
    kind = "<nil>" if key is None else type(key).__name__
    raise _YamlError(f"unsupported map key of type: {kind}", mark.line + 1, mark.column + 1)


def _go_format_float32(value: float) -> str:
    """strconv.FormatFloat(f, 'g', -1, 32): shortest float32 digits, %e from exponent 6 on."""
    import struct

    def as32(x: float) -> float:
        return struct.unpack("f", struct.pack("f", x))[0]

    f32 = as32(value)
    for digits in range(1, 10):
        text = f"{f32:.{digits - 1}e}"
        if as32(float(text)) == f32:
            break
    mantissa, _, exp_text = text.partition("e")
    exp = int(exp_text)
    if exp < -4 or exp >= 6:
        return f"{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    return f"{f32:.{max(digits - 1 - exp, 0)}f}"


@dataclass
class _Frame:
    container: Any            # dict or list being filled
    path: tuple               # field path of this node
    anchor: str | None
    line: int
    size: int = 1             # expanded node count, aliases included
    key: Any = None           # pending key when container is a dict
    key_set: bool = False
    key_line: int = 0
    merge: bool = False


@dataclass
class _Document:
    value: Any
    line: int                 # 1-based line of the document's root node
    lines: dict[tuple, int]   # field path → 1-based line (only when tracked)


class _Builder:
    """Builds documents from parser events without recursion or alias expansion."""

    def __init__(self, loader: Any, *, track_lines: bool) -> None:
        self.loader = loader
        self.track = track_lines

    def documents(self) -> Any:
        loader = self.loader
        loader.get_event()  # StreamStart
        while not loader.check_event(yaml.StreamEndEvent):
            loader.get_event()  # DocumentStart
            doc = self._document()
            loader.get_event()  # DocumentEnd
            yield doc

    def _document(self) -> _Document:
        loader = self.loader
        anchors: dict[str, tuple[Any, int]] = {}
        in_progress: set[str] = set()
        stack: list[_Frame] = []
        lines: dict[tuple, int] = {}
        alias_extra = 0
        root: list[Any] = []
        root_line = 0

        def attach(value: Any, size: int, line: int, is_merge: bool = False) -> None:
            nonlocal root_line
            if not stack:
                root.append(value)
                root_line = line
                return
            top = stack[-1]
            top.size += size
            if isinstance(top.container, list):
                if self.track:
                    lines[top.path + (len(top.container),)] = line
                top.container.append(value)
                return
            if not top.key_set:  # this node is a key
                top.key, top.key_set, top.key_line, top.merge = value, True, line, is_merge
                return
            key, top.key, top.key_set = top.key, None, False
            if top.merge:
                top.merge = False
                sources = value if isinstance(value, list) else [value]
                if not all(isinstance(s, dict) for s in sources):
                    raise _YamlError("map merge requires map or sequence of maps as the value",
                                     top.key_line, 1)
                # go-yaml v2 applies merges in place, later entries overwriting earlier ones,
                # and the first map of a merge sequence winning.
                for source in reversed(sources):
                    for k, v in source.items():
                        top.container[k] = copy.deepcopy(v)
                        if self.track:
                            lines.setdefault(top.path + (k,), top.key_line)
                return
            top.container[key] = value
            if self.track:
                lines[top.path + (key,)] = top.key_line

        def child_path() -> tuple:
            if not stack or not self.track:
                return ()
            top = stack[-1]
            if isinstance(top.container, list):
                return top.path + (len(top.container),)
            return top.path + (top.key,)

        def key_position() -> bool:
            return bool(stack) and isinstance(stack[-1].container, dict) and not stack[-1].key_set

        while True:
            event = loader.get_event()
            mark = event.start_mark
            line, column = mark.line + 1, mark.column + 1
            if isinstance(event, yaml.ScalarEvent):
                value, is_merge = _scalar(event)
                if key_position():
                    if not is_merge:
                        value = _key_string(value, mark)
                else:
                    try:
                        value = _json_number(value)
                    except ValueError as exc:
                        raise _YamlError(f"json: unsupported value: {exc}", line, column) from None
                if event.anchor:
                    anchors[event.anchor] = (value, 1)
                attach(value, 1, line, is_merge)
            elif isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                if key_position():
                    raise _YamlError("invalid map key: a map or list cannot be a key", line, column)
                tag = event.tag
                if tag not in (None, "!", _YAML_TAG + "map", _YAML_TAG + "seq", _YAML_TAG + "omap"):
                    raise _YamlError(f"cannot construct a value with tag {tag} "
                                     f"(only standard YAML tags are accepted)", line, column)
                if len(stack) >= MAX_DEPTH:
                    raise _YamlError(f"exceeded max depth of {MAX_DEPTH}", line, column)
                container: Any = {} if isinstance(event, yaml.MappingStartEvent) else []
                frame = _Frame(container, child_path(), event.anchor, line)
                if event.anchor:
                    in_progress.add(event.anchor)
                stack.append(frame)
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                frame = stack.pop()
                if frame.anchor:
                    in_progress.discard(frame.anchor)
                    anchors[frame.anchor] = (frame.container, frame.size)
                attach(frame.container, frame.size, frame.line)
            elif isinstance(event, yaml.AliasEvent):
                name = event.anchor
                if name in in_progress:
                    raise _YamlError(f"anchor '{name}' value contains itself", line, column)
                if name not in anchors:
                    raise _YamlError(f"unknown anchor '{name}' referenced", line, column)
                value, size = anchors[name]
                alias_extra += size
                # Counted before anything is copied: a billion-laughs document stops here.
                if alias_extra > ALIAS_EXPANSION_LIMIT:
                    raise _YamlError("document contains excessive aliasing", line, column)
                if key_position():
                    value = _key_string(value, mark)
                    attach(value, size, line)
                else:
                    attach(copy.deepcopy(value), size, line)
            elif isinstance(event, yaml.DocumentEndEvent):  # pragma: no cover - consumed by caller
                break
            if not stack and root:
                return _Document(root[0], root_line, lines)
            if not stack and loader.check_event(yaml.DocumentEndEvent):
                return _Document(None, line, lines)


def _yaml_message(problem: str, line: int, column: int) -> str:
    return f"error converting YAML to JSON: yaml: line {line}, column {column}: {problem}"


# PyYAML's pure-Python parser words some errors differently from libyaml/go-yaml.
_PY_TO_LIBYAML = (
    ("mapping values are not allowed here", "mapping values are not allowed in this context"),
    ("found character '\\t' that cannot start any token", "found character that cannot start any token"),
    ("block sequence entries are not allowed here", "block sequence entries are not allowed in this context"),
)


def _parse_documents(source: bytes | str, *, track_lines: bool, first_only: bool) -> list[_Document]:
    loader = _Loader(source)
    docs: list[_Document] = []
    try:
        for doc in _Builder(loader, track_lines=track_lines).documents():
            docs.append(doc)
            if first_only:
                break  # go-yaml's Unmarshal reads the first document only
    except _YamlError as exc:
        raise _bad_request(_yaml_message(exc.message, exc.line, exc.column), exc.line, exc.column) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or exc.context or "unknown problem parsing YAML content"
        if problem.startswith("expected ") and exc.context:
            problem = _pyyaml_parser_problem(exc.context, problem)
        for python_words, go_words in _PY_TO_LIBYAML:
            problem = problem.replace(python_words, go_words)
        raise _bad_request(_yaml_message(problem, line, column), line, column) from None
    except yaml.YAMLError as exc:  # reader errors (bad encoding) carry a position too
        line = getattr(exc, "line", None)
        position = getattr(exc, "position", 0) or 0
        reason = getattr(exc, "reason", None) or str(exc)
        line, column = (line + 1 if isinstance(line, int) else 1), (getattr(exc, "column", None) or position) + 1
        raise _bad_request(_yaml_message(reason, line, column), line, column) from None
    finally:
        loader.dispose()
    return docs


def _pyyaml_parser_problem(context: str, problem: str) -> str:
    """The pure-Python parser's 'expected …' problems in libyaml's words."""
    if "block mapping" in context:
        return "did not find expected key"
    if "block collection" in context:
        return "did not find expected '-' indicator"
    if "flow sequence" in context:
        return "did not find expected ',' or ']'"
    if "flow mapping" in context:
        return "did not find expected ',' or '}'"
    return problem


def _decode_yaml_first(body: bytes) -> Any:
    docs = _parse_documents(body, track_lines=False, first_only=True)
    return docs[0].value if docs else None


# ---------------------------------------------------------------------------
# Manifests for the editor and the lessons
# ---------------------------------------------------------------------------

@dataclass
class Manifest:
    obj: dict
    line: int                                   # 1-based line where the document's content starts
    lines: dict[tuple, int] = field(default_factory=dict, repr=False)  # field path → line
    index: int = 0                              # position among the non-empty documents

    def line_of(self, field_path: str) -> int:
        return line_of(self, field_path)


def load_manifests(text: str, *, max_bytes: int) -> list[Manifest]:
    """Every non-empty document of a (multi-document) YAML or JSON text, with line numbers."""
    if len(text) > max_bytes or (len(text) * 4 > max_bytes and len(text.encode("utf-8", "replace")) > max_bytes):
        raise errors.too_large(f"Request entity too large: limit is {max_bytes}")
    manifests: list[Manifest] = []
    for doc in _parse_documents(text, track_lines=True, first_only=False):
        if doc.value is None:
            continue  # empty document (only comments, or a bare ---)
        if not isinstance(doc.value, dict):
            what = "a list" if isinstance(doc.value, list) else f"a {type(doc.value).__name__} value"
            raise _bad_request(_yaml_message(
                f"a manifest must be a mapping (an object with apiVersion and kind), not {what}",
                doc.line, 1), doc.line, 1)
        manifests.append(Manifest(doc.value, doc.line, doc.lines, len(manifests)))
    return manifests


_PATH_TOKEN = re.compile(r"\.?([^.\[\]]+)|\[([^\]]*)\]")


def parse_field_path(field_path: str) -> list[str | int]:
    """`spec.containers[0].image` → ["spec", "containers", 0, "image"];
    `metadata.labels[app.kubernetes.io/name]` keeps the bracketed key whole."""
    parts: list[str | int] = []
    for match in _PATH_TOKEN.finditer(field_path):
        name, bracket = match.groups()
        if name is not None:
            parts.append(name)
        else:
            inner = bracket.strip()
            if inner.isdigit():
                parts.append(int(inner))
            else:
                parts.append(inner.strip("\"'"))
    return parts


def line_of(manifest: Manifest, field_path: str) -> int:
    """The line to underline for an API error on `field_path`.

    Falls back to the nearest existing parent (a "Required value" error names
    a field that is not there) and finally to the document's first line.
    """
    parts = parse_field_path(field_path)
    best = manifest.line
    prefix: tuple = ()
    for part in parts:
        candidates = [part] + ([str(part)] if isinstance(part, int) else [])
        for candidate in candidates:
            if prefix + (candidate,) in manifest.lines:
                prefix = prefix + (candidate,)
                best = manifest.lines[prefix]
                break
        else:
            break
    return best
