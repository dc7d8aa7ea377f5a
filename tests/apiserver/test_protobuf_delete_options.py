"""Protobuf DeleteOptions and Eviction bodies (clusters/apiserver/protobuf.py).

`kubectl drain --disable-eviction` deletes each pod with a protobuf body: a runtime.Unknown of "v1"
DeleteOptions. The two bodies below are byte for byte what kubectl 1.37.1 sent (its -v=9 dump): the
plain drain's (every field unset, an empty raw) and `--grace-period=7 --dry-run=server`'s.
"""
from __future__ import annotations

from clusters.apiserver.protobuf import decode_protobuf

from .test_protobuf import envelope, lfield, vfield

DRAIN = bytes.fromhex("6b3873000a130a027631120d44656c6574654f7074696f6e7312001a002200")
DRAIN_GRACE_DRY_RUN = bytes.fromhex("6b3873000a130a027631120d44656c6574654f7074696f6e73120708072a03416c6c1a002200")


def test_kubectl_drain_disable_eviction_bodies():
    assert decode_protobuf(DRAIN) == {"kind": "DeleteOptions", "apiVersion": "v1"}
    assert decode_protobuf(DRAIN_GRACE_DRY_RUN) == {"kind": "DeleteOptions", "apiVersion": "v1",
                                                    "gracePeriodSeconds": 7, "dryRun": ["All"]}


def test_every_delete_options_field():
    raw = (vfield(1, 0) + lfield(2, lfield(1, "0b6e-uid") + lfield(2, "42")) + vfield(3, 0)
           + lfield(4, "Foreground") + lfield(5, "All") + vfield(6, 1))
    assert decode_protobuf(envelope("v1", "DeleteOptions", raw)) == {
        "kind": "DeleteOptions", "apiVersion": "v1",
        "gracePeriodSeconds": 0,                       # a pointer: --grace-period=0 is kept, not dropped
        "preconditions": {"uid": "0b6e-uid", "resourceVersion": "42"},
        "orphanDependents": False, "propagationPolicy": "Foreground", "dryRun": ["All"],
        "ignoreStoreReadErrorWithClusterBreakingPotential": True}


def test_delete_options_of_any_group_version():
    # A typed client of another group names its own version (metav1.AddToGroupVersion registers it there).
    decoded = decode_protobuf(envelope("apps/v1", "DeleteOptions", lfield(4, "Orphan")))
    assert decoded == {"kind": "DeleteOptions", "apiVersion": "apps/v1", "propagationPolicy": "Orphan"}


def test_eviction_bodies():
    raw = lfield(1, lfield(1, "web-1") + lfield(3, "default")) + lfield(2, vfield(1, 5))
    for version in ("policy/v1", "policy/v1beta1"):
        assert decode_protobuf(envelope(version, "Eviction", raw)) == {
            "kind": "Eviction", "apiVersion": version, "metadata": {"name": "web-1", "namespace": "default"},
            "deleteOptions": {"gracePeriodSeconds": 5}}
