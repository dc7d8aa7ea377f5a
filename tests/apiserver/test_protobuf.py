"""The protobuf request decoder, against bodies captured from the real kubectl 1.37.

Each fixtures/protobuf/<name>.bin is the exact body kubectl POSTed for one
command and <name>.json is what the same command prints with
`--dry-run=client -o json` (see fixtures/protobuf/capture.py, which
regenerates both). The decoded dict must equal that JSON exactly: no
normalisation is needed, because the decoder reproduces Go's encoding/json
(`status: {}`, `resources: {}`, `currentMetrics: null`, and kubectl 1.37's
omission of a zero `creationTimestamp`).
"""
from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import pytest

from clusters.apiserver import protobuf
from clusters.apiserver.errors import ApiError
from clusters.apiserver.protobuf import decode_protobuf, format_go_duration

FIXTURES = Path(__file__).parent / "fixtures" / "protobuf"
CAPTURED = sorted(p.stem for p in FIXTURES.glob("*.bin"))
WITH_DRY_RUN = [name for name in CAPTURED if (FIXTURES / f"{name}.json").exists()]


def body(name: str) -> bytes:
    return (FIXTURES / f"{name}.bin").read_bytes()


def expected(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


# --- a tiny protobuf writer for synthetic bodies -----------------------------


def varint(value: int) -> bytes:
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def vfield(number: int, value: int) -> bytes:
    return varint(number << 3) + varint(value)


def lfield(number: int, payload: bytes | str) -> bytes:
    if isinstance(payload, str):
        payload = payload.encode()
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def envelope(api_version: str, kind: str, raw: bytes) -> bytes:
    return b"k8s\x00" + lfield(1, lfield(1, api_version) + lfield(2, kind)) + lfield(2, raw)


def bad(payload: bytes) -> ApiError:
    with pytest.raises(ApiError) as caught:
        decode_protobuf(payload)
    assert caught.value.code == 400
    assert caught.value.reason == "BadRequest"
    return caught.value


# --- captured bodies ---------------------------------------------------------


def test_every_capture_has_its_expected_json() -> None:
    # `kubectl create token` has no --dry-run; its expectation is written below.
    assert set(CAPTURED) - set(WITH_DRY_RUN) == {"token"}
    assert len(WITH_DRY_RUN) >= 40


@pytest.mark.parametrize("name", WITH_DRY_RUN)
def test_decodes_like_kubectl_prints_it(name: str) -> None:
    assert decode_protobuf(body(name)) == expected(name)


def test_token_request() -> None:
    # `kubectl create token robot --duration=1h --audience=api`. What Go's
    # encoding/json makes of the same TokenRequest: status.token and
    # status.expirationTimestamp have no omitempty, so "" and null.
    assert decode_protobuf(body("token")) == {
        "kind": "TokenRequest",
        "apiVersion": "authentication.k8s.io/v1",
        "metadata": {},
        "spec": {"audiences": ["api"], "expirationSeconds": 3600},
        "status": {"token": "", "expirationTimestamp": None},
    }


def test_deployment_details() -> None:
    web = decode_protobuf(body("deploy_web"))
    assert web["spec"]["replicas"] == 3
    container = web["spec"]["template"]["spec"]["containers"][0]
    assert container == {"name": "nginx", "image": "nginx:1.27", "ports": [{"containerPort": 80}],
                         "resources": {}}
    assert "creationTimestamp" not in web["metadata"]
    # *int32 replicas: an explicit 0 must survive, or the server would default it to 1.
    assert decode_protobuf(body("deploy_zero"))["spec"]["replicas"] == 0
    command = decode_protobuf(body("deploy_cmd"))["spec"]["template"]["spec"]["containers"][0]
    assert command["command"] == ["sleep", "3600"]


def test_services() -> None:
    port = decode_protobuf(body("svc_clusterip"))["spec"]["ports"][0]
    assert port == {"name": "80-8080", "protocol": "TCP", "port": 80, "targetPort": 8080}
    nodeport = decode_protobuf(body("svc_nodeport"))["spec"]
    assert nodeport["type"] == "NodePort" and nodeport["ports"][0]["nodePort"] == 30080
    external = decode_protobuf(body("svc_externalname"))["spec"]
    assert external == {"type": "ExternalName", "externalName": "example.com", "selector": {"app": "ext"}}


def test_secret_data_is_base64_like_json() -> None:
    secret = decode_protobuf(body("secret_generic"))
    assert base64.b64decode(secret["data"]["password"]) == b"hunter2"
    assert base64.b64decode(secret["data"]["bin.dat"]) == (FIXTURES / "inputs" / "bin.dat").read_bytes()
    assert secret["type"] == "Opaque"
    tls = decode_protobuf(body("secret_tls"))
    assert tls["type"] == "kubernetes.io/tls"
    assert base64.b64decode(tls["data"]["tls.crt"]) == (FIXTURES / "inputs" / "tls.crt").read_bytes()


def test_configmap_binary_data() -> None:
    config = decode_protobuf(body("cm_file2"))
    assert config["data"] == {"file.txt": "line1\nline2\n"}
    assert base64.b64decode(config["binaryData"]["blob"]) == (FIXTURES / "inputs" / "bin.dat").read_bytes()


def test_autoscale_and_intorstring() -> None:
    hpa = decode_protobuf(body("autoscale"))
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["metrics"][0]["resource"]["target"] == {"type": "Utilization", "averageUtilization": 80}
    assert hpa["status"] == {"desiredReplicas": 0, "currentMetrics": None}
    assert decode_protobuf(body("pdb"))["spec"]["minAvailable"] == "50%"
    assert decode_protobuf(body("pdb_zero"))["spec"]["minAvailable"] == 0


def test_autoscaling_v1() -> None:
    # kubectl 1.37 autoscale sends autoscaling/v2; v1 (older clients) is built by hand.
    metadata = lfield(1, "web") + lfield(3, "default")
    target = lfield(1, "Deployment") + lfield(2, "web") + lfield(3, "apps/v1")
    spec = lfield(1, target) + vfield(2, 2) + vfield(3, 5) + vfield(4, 80)
    status = vfield(3, 0) + vfield(4, 0)
    raw = lfield(1, metadata) + lfield(2, spec) + lfield(3, status)
    assert decode_protobuf(envelope("autoscaling/v1", "HorizontalPodAutoscaler", raw)) == {
        "kind": "HorizontalPodAutoscaler",
        "apiVersion": "autoscaling/v1",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web", "apiVersion": "apps/v1"},
                 "minReplicas": 2, "maxReplicas": 5, "targetCPUUtilizationPercentage": 80},
        "status": {"currentReplicas": 0, "desiredReplicas": 0},
    }


# --- special types and wire details ------------------------------------------


def test_time_negative_ints_and_unknown_fields() -> None:
    created = vfield(1, 1767225600) + vfield(2, 5)  # 2026-01-01T00:00:00Z; nanos dropped as metav1.Time does
    metadata = (lfield(1, "x") + lfield(8, created) + vfield(10, 0)
                + lfield(99, b"\xff\xff") + vfield(98, 7))  # fields newer than our tables are skipped
    pod_spec = lfield(2, lfield(1, "c") + lfield(2, "busybox")) + vfield(4, -5 & (2**64 - 1))
    raw = lfield(1, metadata) + lfield(2, pod_spec)
    pod = decode_protobuf(envelope("v1", "Pod", raw))
    assert pod["metadata"] == {"name": "x", "creationTimestamp": "2026-01-01T00:00:00Z",
                               "deletionGracePeriodSeconds": 0}
    assert pod["spec"] == {"containers": [{"name": "c", "image": "busybox"}],
                           "terminationGracePeriodSeconds": -5}


def test_intorstring_named_port_probe_and_packed_ints() -> None:
    probe = lfield(1, lfield(2, lfield(1, "/healthz") + lfield(2, vfield(1, 1) + lfield(3, "http"))))
    probe += vfield(4, 10)
    security = lfield(4, varint(1) + varint(2) + varint(300))  # packed repeated int64
    spec = lfield(2, lfield(1, "c") + lfield(10, probe)) + lfield(14, security)
    pod = decode_protobuf(envelope("v1", "Pod", lfield(2, spec)))
    assert pod["spec"]["containers"][0]["livenessProbe"] == {
        "httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 10}
    assert pod["spec"]["securityContext"] == {"supplementalGroups": [1, 2, 300]}


def test_go_durations() -> None:
    assert format_go_duration(0) == "0s"
    assert format_go_duration(3_600_000_000_000) == "1h0m0s"
    assert format_go_duration(90_000_000_000) == "1m30s"
    assert format_go_duration(1_500_000_000) == "1.5s"
    assert format_go_duration(250_000_000) == "250ms"
    assert format_go_duration(-2_000_000_000) == "-2s"


# --- malformed input ---------------------------------------------------------


@pytest.mark.parametrize("payload", [
    b"", b"k8s", b"k8s\x01" + body("ns_dev")[4:], b'{"kind":"Namespace"}', b"\x00" * 64,
    b"k8s\x00\xff", b"k8s\x00\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f",  # huge length prefix
    b"k8s\x00" + b"\x80" * 11,  # varint longer than 10 bytes
    b"k8s\x00\x0b",  # a group (wire type 3)
    b"k8s\x00\x00",  # field number 0
], ids=["empty", "short", "wrong-magic", "json", "zeros", "truncated-varint", "huge-length",
        "long-varint", "group", "field-zero"])
def test_malformed_bodies_are_400(payload: bytes) -> None:
    assert bad(payload).message.startswith("unable to decode protobuf body:")


def test_missing_type_meta() -> None:
    assert "apiVersion or kind" in bad(b"k8s\x00" + lfield(2, b"")).message


def test_unknown_kind() -> None:
    error = bad(envelope("example.com/v1", "Widget", b""))
    assert error.message == "protobuf is not supported for example.com/v1 Widget; send JSON or YAML"


def test_wrong_wire_type_for_a_known_field() -> None:
    # metadata (field 1) sent as a varint instead of a message.
    error = bad(envelope("v1", "Namespace", vfield(1, 5)))
    assert "wrong wire type" in error.message


def test_content_encoding_is_refused() -> None:
    payload = b"k8s\x00" + lfield(1, lfield(1, "v1") + lfield(2, "Namespace")) + lfield(2, b"") + lfield(3, "gzip")
    assert "content encoding" in bad(payload).message


def decode_or_error(payload: bytes) -> dict | ApiError:
    """The decoded object, or the ApiError the decoder raised (any other exception propagates).

    For the fuzz-style tests below, where some inputs still decode (so `pytest.raises` would not fit)
    and every refusal must be a 400."""
    try:
        return decode_protobuf(payload)
    except ApiError as error:
        return error


def test_every_truncation_of_a_real_body_is_a_clean_400() -> None:
    whole = body("deploy_web")
    for cut in range(len(whole)):
        result = decode_or_error(whole[:cut])
        if isinstance(result, ApiError):
            assert result.code == 400
        # A cut that happens to fall between top-level fields is still a valid
        # message: then an (incomplete) dict comes back, which is fine.


def test_flipped_bytes_never_raise_anything_else() -> None:
    whole = bytearray(body("cronjob"))
    for index in range(4, len(whole)):
        for value in (0x00, 0x7F, 0x80, 0xFF):
            mutated = bytearray(whole)
            mutated[index] = value
            result = decode_or_error(bytes(mutated))
            if isinstance(result, ApiError):
                assert result.code == 400


def test_nesting_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(protobuf, "MAX_DEPTH", 3)
    assert "nesting deeper" in bad(body("deploy_web")).message


def test_deep_and_large_garbage_is_fast() -> None:
    # 20 000 levels of nested length-delimited data in a field we do not know:
    # skipped without descending, so no recursion at all.
    nested = b""
    for _ in range(20_000):
        nested = lfield(1, nested)
    start = time.monotonic()
    result = decode_protobuf(envelope("v1", "Namespace", lfield(1, lfield(1, "a")) + lfield(77, nested)))
    assert result["metadata"] == {"name": "a"}
    # A megabyte of pseudo-random bytes after the magic.
    state = 12345
    noise = bytearray()
    for _ in range(1 << 20):
        state = (state * 1103515245 + 12345) & 0x7FFFFFFF
        noise.append(state >> 16 & 0xFF)
    result = decode_or_error(b"k8s\x00" + bytes(noise))
    if isinstance(result, ApiError):
        assert result.code == 400
    assert time.monotonic() - start < 5


# --- the tables against the served OpenAPI -----------------------------------

# Our message names -> OpenAPI definition prefixes.
PACKAGES = {
    "meta": "io.k8s.apimachinery.pkg.apis.meta.v1", "core": "io.k8s.api.core.v1",
    "apps": "io.k8s.api.apps.v1", "batch": "io.k8s.api.batch.v1",
    "autoscaling": "io.k8s.api.autoscaling.v2", "autoscalingv1": "io.k8s.api.autoscaling.v1",
    "autoscalingv2": "io.k8s.api.autoscaling.v2", "policy": "io.k8s.api.policy.v1",
    "networking": "io.k8s.api.networking.v1", "scheduling": "io.k8s.api.scheduling.v1",
    "rbac": "io.k8s.api.rbac.v1", "authentication": "io.k8s.api.authentication.v1",
}
# Fields in the newest generated.proto that the 1.37 OpenAPI does not list yet.
NEWER_THAN_OPENAPI = {("apps.DeploymentSpec", "podReplacementPolicy")}


def _json_fields(message: str) -> dict[str, protobuf.Field]:
    out: dict[str, protobuf.Field] = {}
    for field in protobuf.MESSAGES[message].values():
        if field.kind == "inline":
            out.update(_json_fields(field.message or ""))
        else:
            out[field.name] = field
    return out


def test_tables_match_the_openapi_names_and_required_fields() -> None:
    from clusters.apiserver import schema

    definitions = schema.definitions()
    checked = 0
    for message in protobuf.MESSAGES:
        package, name = message.split(".", 1)
        definition = definitions.get(f"{PACKAGES[package]}.{name}")
        if definition is None:
            continue  # inlined helper structs (ProbeHandler, VolumeSource, ...) have no definition
        checked += 1
        fields = _json_fields(message)
        unknown = {n for n in fields if (message, n) not in NEWER_THAN_OPENAPI} - set(definition.get("properties", {}))
        assert not unknown, f"{message}: {unknown} are not fields of {name}"
        # A non-omitempty scalar or list must be marked req, or a zero value would be dropped.
        for required in definition.get("required", []):
            field = fields.get(required)
            if field is not None and field.kind not in ("message",):
                assert field.req, f"{message}.{required} is required in the OpenAPI"
    assert checked > 100


def test_every_top_level_kind_has_a_table() -> None:
    for message in protobuf.KINDS.values():
        assert "metadata" in _json_fields(message)
    for message, table in protobuf.MESSAGES.items():
        for field in table.values():
            if field.message is not None:
                assert field.message in protobuf.MESSAGES, f"{message}.{field.name}"
