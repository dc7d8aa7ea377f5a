"""Request body and manifest decoding: formats, wording, line numbers, and the safety limits."""
from __future__ import annotations

import json
import time

import pytest

from clusters.apiserver.decode import Manifest, decode_body, line_of, load_manifests, parse_field_path
from clusters.apiserver.errors import ApiError

LIMIT = 3 * 1024 * 1024


def error_of(body: bytes, content_type: str = "application/yaml") -> ApiError:
    with pytest.raises(ApiError) as caught:
        decode_body(body, content_type, max_bytes=LIMIT)
    return caught.value


# --- happy paths -------------------------------------------------------------

def test_json_yaml_and_patch_types() -> None:
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"a": "1"}}
    raw = json.dumps(obj).encode()
    for ct in ("application/json", "application/json; charset=utf-8", "application/merge-patch+json",
               "application/strategic-merge-patch+json", "application/yaml", "application/apply-patch+yaml"):
        assert decode_body(raw, ct, max_bytes=LIMIT) == obj
    assert decode_body(b'[{"op": "remove", "path": "/a"}]', "application/json-patch+json",
                       max_bytes=LIMIT) == [{"op": "remove", "path": "/a"}]
    yaml_body = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: '1'\n"
    assert decode_body(yaml_body, "application/yaml", max_bytes=LIMIT) == obj


def test_missing_content_type_is_sniffed() -> None:
    # The official Python client sends no Content-Type.
    assert decode_body(b' {"a": 1}', "", max_bytes=LIMIT) == {"a": 1}
    assert decode_body(b"a: 1\n", "", max_bytes=LIMIT) == {"a": 1}


def test_yaml_body_reads_the_first_document_only() -> None:
    assert decode_body(b"a: 1\n---\nb: 2\n", "application/yaml", max_bytes=LIMIT) == {"a": 1}


def test_go_yaml_v2_scalars() -> None:
    body = (b"on: yes\nx: 0755\nexp: 1e3\nz: 12:30\nd: 2024-01-01\nf: 1.0\ng: 0x1F\nh: 1_000\ni: .5\n"
            b"k: 089\n1: a\nq: '1'\nr: !!str 5\nt: ~\nu:\nbig: 99999999999999999999\nhuge: 1e400\n")
    assert decode_body(body, "application/yaml", max_bytes=LIMIT) == {
        "true": True, "x": 493, "exp": 1000, "z": "12:30", "d": "2024-01-01", "f": 1, "g": 31, "h": 1000,
        "i": 0.5, "k": 89, "1": "a", "q": "1", "r": "5", "t": None, "u": None,
        "big": 100000000000000000000, "huge": "1e400"}
    # go-yaml v2 (unlike PyYAML) takes y/n as booleans
    assert decode_body(b"a: y\nb: N\nc: off\n", "application/yaml", max_bytes=LIMIT) == {
        "a": True, "b": False, "c": False}


def test_merge_keys_and_aliases_are_independent_copies() -> None:
    out = decode_body(b"base: &b {a: 1, b: 2}\nc:\n  <<: *b\n  b: 3\nd: *b\n", "application/yaml",
                      max_bytes=LIMIT)
    assert out == {"base": {"a": 1, "b": 2}, "c": {"a": 1, "b": 3}, "d": {"a": 1, "b": 2}}
    out["d"]["a"] = 9
    assert out["base"]["a"] == 1


def test_protobuf_is_delegated(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys
    import types
    fake = types.ModuleType("clusters.apiserver.protobuf")
    fake.decode_protobuf = lambda body: {"decoded": body}  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "clusters.apiserver.protobuf", fake)
    assert decode_body(b"k8s\x00", "application/vnd.kubernetes.protobuf", max_bytes=LIMIT) == {"decoded": b"k8s\x00"}


# --- errors --------------------------------------------------------------------

@pytest.mark.parametrize("body,message,line,column", [
    (b"a: b\nc: d: e\n",
     "error converting YAML to JSON: yaml: line 2, column 5: mapping values are not allowed in this context", 2, 5),
    (b"a:\n  b: 1\n c: 2\n",
     "error converting YAML to JSON: yaml: line 3, column 2: did not find expected key", 3, 2),
    (b"a: [1, 2\n", "error converting YAML to JSON: yaml: line 2, column 1: did not find expected ',' or ']'", 2, 1),
    (b"a:\n\tb: 1\n",
     "error converting YAML to JSON: yaml: line 2, column 1: found character that cannot start any token", 2, 1),
    (b"a: 'x\n", "error converting YAML to JSON: yaml: line 2, column 1: found unexpected end of stream", 2, 1),
    (b"a: *nope\n", "error converting YAML to JSON: yaml: line 1, column 4: unknown anchor 'nope' referenced", 1, 4),
    (b"x: !!python/object:os.system {}\n",
     "error converting YAML to JSON: yaml: line 1, column 4: cannot construct a value with tag "
     "tag:yaml.org,2002:python/object:os.system (only standard YAML tags are accepted)", 1, 4),
    (b"x: .nan\n", "error converting YAML to JSON: yaml: line 1, column 4: json: unsupported value: NaN", 1, 4),
    (b"x: !!int abc\n", "error converting YAML to JSON: yaml: line 1, column 4: cannot decode !!str `abc` as a !!int",
     1, 4),
])
def test_yaml_errors(body: bytes, message: str, line: int, column: int) -> None:
    err = error_of(body)
    assert (err.code, err.reason, err.message) == (400, "BadRequest", message)
    assert (err.line, err.column) == (line, column)  # type: ignore[attr-defined]


PREFIX = "couldn't get version/kind; json parse error: "


@pytest.mark.parametrize("body,message", [
    (b'{"a": 1,}', "invalid character '}' looking for beginning of object key string (line 1, column 9)"),
    (b'{"a" 1}', "invalid character '1' after object key (line 1, column 6)"),
    (b'{"a": 1 "b": 2}', "invalid character '\"' after object key:value pair (line 1, column 9)"),
    (b'[1 2]', "invalid character '2' after array element (line 1, column 4)"),
    (b'{"a": tru}', "invalid character '}' in literal true (expecting 'e') (line 1, column 7)"),
    (b'{"a": 1}}', "invalid character '}' after top-level value (line 1, column 9)"),
    (b'{"a": NaN}', "invalid character 'N' looking for beginning of value (line 1, column 7)"),
    (b'{\n  "a": {\n    "b": x\n}', "invalid character 'x' looking for beginning of value (line 3, column 10)"),
    (b'', "unexpected end of JSON input (line 1, column 1)"),
    (b'{"a":', "unexpected end of JSON input (line 1, column 6)"),
])
def test_json_errors(body: bytes, message: str) -> None:
    err = error_of(body, "application/json")
    assert (err.code, err.message) == (400, PREFIX + message)
    assert isinstance(err.line, int) and isinstance(err.column, int)  # type: ignore[attr-defined]


def test_patch_errors_have_no_version_kind_prefix() -> None:
    err = error_of(b"{bad", "application/merge-patch+json")
    assert err.message == "invalid character 'b' looking for beginning of object key string (line 1, column 2)"


def test_unknown_media_type() -> None:
    err = error_of(b"a", "text/plain")
    assert err.code == 415 and err.reason == "UnsupportedMediaType"


def test_alias_bomb_is_rejected_fast() -> None:
    # billion laughs: 9 levels of 9 aliases would expand to 9**9 nodes
    lines = [b'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, 9):
        name, prev = bytes([97 + level]), bytes([96 + level])
        lines.append(name + b": &" + name + b" [" + b",".join([b"*" + prev] * 9) + b"]")
    bomb = b"\n".join(lines) + b"\n"
    started = time.perf_counter()
    err = error_of(bomb)
    assert time.perf_counter() - started < 1.0
    assert err.code == 400 and "document contains excessive aliasing" in err.message
    with pytest.raises(ApiError, match="excessive aliasing"):
        load_manifests(bomb.decode(), max_bytes=LIMIT)


def test_ten_megabytes_rejected_before_parsing() -> None:
    body = b"a: " + b"x" * (10 * 1024 * 1024)
    started = time.perf_counter()
    err = error_of(body)
    assert err.code == 413 and err.reason == "RequestEntityTooLarge"
    with pytest.raises(ApiError) as caught:
        load_manifests(body.decode(), max_bytes=LIMIT)
    assert caught.value.code == 413
    assert time.perf_counter() - started < 1.0


def test_deep_nesting_is_bounded() -> None:
    err = error_of(b"a: " + b"[" * 5000 + b"]" * 5000)
    assert "exceeded max depth of 128" in err.message
    err = error_of(b"[" * 5000 + b"]" * 5000, "application/json")
    assert "exceeded max depth of 128" in err.message
    # a realistic depth is fine
    assert decode_body(b"[" * 50 + b"]" * 50, "application/json", max_bytes=LIMIT) is not None


# --- manifests -------------------------------------------------------------------

MULTI = """\
# a comment before the first document
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app.kubernetes.io/name: web
spec:
  template:
    spec:
      containers:
      - name: nginx
        image: nginx:1.27
        ports:
        - containerPort: 80
      - name: sidecar
        image: busybox
---
---
# only a comment
---
{"apiVersion": "v1", "kind": "Service",
 "metadata": {"name": "web"},
 "spec": {"ports": [{"port": 80}]}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: flow}
data: {a: "1", b: '2'}
"""


def test_multi_document_with_lines() -> None:
    docs = load_manifests(MULTI, max_bytes=LIMIT)
    assert [m.obj["kind"] for m in docs] == ["Deployment", "Service", "ConfigMap"]
    assert [m.line for m in docs] == [2, 22, 26]
    assert [m.index for m in docs] == [0, 1, 2]
    assert docs[2].obj["data"] == {"a": "1", "b": "2"}


def test_line_of_nested_paths_and_list_indices() -> None:
    deployment, service, config_map = load_manifests(MULTI, max_bytes=LIMIT)
    assert isinstance(deployment, Manifest)
    assert line_of(deployment, "spec.template.spec.containers[0].image") == 13
    assert line_of(deployment, "spec.template.spec.containers[1].image") == 17
    assert line_of(deployment, "spec.template.spec.containers[1]") == 16
    assert line_of(deployment, "spec.template.spec.containers[0].ports[0].containerPort") == 15
    assert line_of(deployment, "metadata.labels[app.kubernetes.io/name]") == 7
    # a missing field points at its nearest parent, an unknown path at the document
    assert line_of(deployment, "spec.selector") == 8
    assert line_of(deployment, "spec.template.spec.containers[5].image") == 11
    assert line_of(deployment, "nope") == 2
    assert deployment.line_of("kind") == 3
    assert line_of(service, "spec.ports[0].port") == 24
    assert line_of(config_map, "data.b") == 29


def test_field_path_parsing() -> None:
    assert parse_field_path("spec.containers[0].image") == ["spec", "containers", 0, "image"]
    assert parse_field_path("metadata.annotations[example.com/x]") == ["metadata", "annotations", "example.com/x"]


def test_non_mapping_document_is_rejected_with_its_line() -> None:
    with pytest.raises(ApiError) as caught:
        load_manifests("a: 1\n---\n- x\n- y\n", max_bytes=LIMIT)
    err = caught.value
    assert err.code == 400 and "line 3" in err.message and "not a list" in err.message
    assert err.line == 3  # type: ignore[attr-defined]


def test_manifest_syntax_error_has_line_and_column() -> None:
    with pytest.raises(ApiError) as caught:
        load_manifests("apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n  labels: a: b\n", max_bytes=LIMIT)
    assert caught.value.message == ("error converting YAML to JSON: yaml: line 5, column 12: "
                                    "mapping values are not allowed in this context")
