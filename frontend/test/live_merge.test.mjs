// The live feed's merge (src/live_merge.js): a snapshot, then change batches ordered by resourceVersion,
// as clusters/consumers.py sends them: {type: "changes", from, to, changes: [{event, rv, …summary}]}.
import { test, describe } from "node:test";
import assert from "node:assert/strict";

import { LiveStore, keyOf } from "../src/live_merge.js";

const pod = (name, extra = {}) => ({ kind: "Pod", namespace: "default", name, ...extra });
const node = (name) => ({ kind: "Node", namespace: "", name });
const snapshot = (rv, objects, columns) => ({ type: "snapshot", rv, objects, ...(columns ? { columns } : {}) });
const changes = (from, to, list) => ({ type: "changes", from, to, changes: list });
const added = (rv, o) => ({ ...o, event: "ADDED", rv });
const modified = (rv, o) => ({ ...o, event: "MODIFIED", rv });
const deleted = (rv, o) => ({ ...o, event: "DELETED", rv });

/** A store that has applied a snapshot of `objects` at `rv`. */
function storeAt(rv, objects) {
  const store = new LiveStore();
  store.applySnapshot(snapshot(rv, objects, { Pod: ["NAME", "READY"] }));
  return store;
}

const names = (store) => [...store.objects.keys()].sort();
const summary = (applied) => applied.map(({ key, change }) => `${change} ${key}`);

describe("keyOf", () => {
  test("is Kind/namespace/name, with an empty namespace for cluster-scoped objects", () => {
    assert.equal(keyOf(pod("web")), "Pod/default/web");
    assert.equal(keyOf(node("worker")), "Node//worker");
  });
});

describe("LiveStore.applySnapshot", () => {
  test("the first snapshot fills the store, takes its rv and columns, and flags nothing as new", () => {
    const store = new LiveStore();
    assert.equal(store.rv, null);
    const { added: fresh } = store.applySnapshot(snapshot(10, [pod("a"), node("n1")], { Pod: ["NAME"] }));
    assert.deepEqual(fresh, []);
    assert.equal(store.rv, 10);
    assert.deepEqual(store.columns, { Pod: ["NAME"] });
    assert.deepEqual(names(store), ["Node//n1", "Pod/default/a"]);
  });

  test("a later snapshot replaces everything and reports only the objects it brought", () => {
    const store = storeAt(10, [pod("a"), pod("b")]);
    const map = store.objects;
    const { added: fresh } = store.applySnapshot(snapshot(15, [pod("b", { phase: "Running" }), pod("c")]));
    assert.deepEqual(fresh, ["Pod/default/c"]);
    assert.deepEqual(names(store), ["Pod/default/b", "Pod/default/c"]);
    assert.equal(store.objects.get("Pod/default/b").phase, "Running");
    assert.equal(store.rv, 15);
    // The details drawer and the node switches hold this Map: it is refilled, never swapped.
    assert.equal(store.objects, map);
  });

  test("a snapshot without columns keeps the ones the page has", () => {
    const store = storeAt(10, []);
    store.applySnapshot(snapshot(11, []));
    assert.deepEqual(store.columns, { Pod: ["NAME", "READY"] });
  });
});

describe("LiveStore.applyChanges", () => {
  test("adds, modifies and deletes in order and moves the rv to the batch's end", () => {
    const store = storeAt(10, [pod("a"), pod("b")]);
    const result = store.applyChanges(changes(10, 13, [
      added(11, pod("c")), modified(12, pod("a", { phase: "Running" })), deleted(13, pod("b")),
    ]));
    assert.equal(result.resync, null);
    assert.deepEqual(summary(result.applied), ["new Pod/default/c", "changed Pod/default/a", "deleted Pod/default/b"]);
    assert.deepEqual(names(store), ["Pod/default/a", "Pod/default/c"]);
    assert.equal(store.objects.get("Pod/default/a").phase, "Running");
    assert.equal(store.rv, 13);
  });

  test("a deletion reports the summary that goes, so it can be drawn while it fades out", () => {
    const store = storeAt(10, [pod("a", { node: "worker" })]);
    const { applied } = store.applyChanges(changes(10, 11, [deleted(11, pod("a"))]));
    assert.equal(applied[0].change, "deleted");
    assert.equal(applied[0].object.node, "worker");
  });

  test("deleting an object the page never had changes nothing but still advances the rv", () => {
    const store = storeAt(10, [pod("a")]);
    const { resync, applied } = store.applyChanges(changes(10, 11, [deleted(11, pod("ghost"))]));
    assert.equal(resync, null);
    assert.deepEqual(applied, []);
    assert.deepEqual(names(store), ["Pod/default/a"]);
    assert.equal(store.rv, 11);
  });

  test("a batch that starts after our rv is a gap: nothing applies and the answer says where to resume", () => {
    const store = storeAt(10, [pod("a")]);
    const result = store.applyChanges(changes(12, 14, [added(13, pod("b")), deleted(14, pod("a"))]));
    assert.deepEqual(result, { resync: 10 });
    assert.deepEqual(names(store), ["Pod/default/a"]);
    assert.equal(store.rv, 10);
    // The resumed feed's batch from our rv applies normally.
    const resumed = store.applyChanges(changes(10, 14, [
      added(11, pod("x")), added(13, pod("b")), deleted(14, pod("a")),
    ]));
    assert.equal(resumed.resync, null);
    assert.deepEqual(names(store), ["Pod/default/b", "Pod/default/x"]);
    assert.equal(store.rv, 14);
  });

  test("a batch starting before our rv is not a gap: the changes we already have are skipped", () => {
    const store = storeAt(10, [pod("a", { phase: "Running" })]);
    const { applied } = store.applyChanges(changes(8, 12, [
      modified(9, pod("a", { phase: "Pending" })),   // older than the snapshot: must not win
      deleted(10, pod("a")),                           // at the snapshot's rv: already in it
      added(11, pod("b")),
      modified(12, pod("a", { phase: "Succeeded" })),
    ]));
    assert.deepEqual(summary(applied), ["new Pod/default/b", "changed Pod/default/a"]);
    assert.equal(store.objects.get("Pod/default/a").phase, "Succeeded");
    assert.equal(store.rv, 12);
  });

  test("a batch delivered twice applies once, and a stale batch never moves the rv back", () => {
    const store = storeAt(10, [pod("a")]);
    const batch = changes(10, 12, [added(11, pod("b")), deleted(12, pod("a"))]);
    store.applyChanges(batch);
    const again = store.applyChanges(batch);
    assert.equal(again.resync, null);
    assert.deepEqual(again.applied, []);
    assert.deepEqual(names(store), ["Pod/default/b"]);
    assert.equal(store.rv, 12);
    const stale = store.applyChanges(changes(5, 9, [added(9, pod("old"))]));
    assert.deepEqual(stale.applied, []);
    assert.equal(store.rv, 12);
  });

  test("a batch from exactly our rv follows on; an empty one just moves the rv", () => {
    const store = storeAt(10, []);
    assert.equal(store.applyChanges(changes(10, 10, [])).resync, null);
    assert.equal(store.rv, 10);
    assert.equal(store.applyChanges(changes(10, 20, [])).resync, null);
    assert.equal(store.rv, 20);
    assert.deepEqual(store.applyChanges(changes(21, 22, [])), { resync: 20 });
  });

  test("deleted then added again in one batch ends present and reported as new", () => {
    const store = storeAt(10, [pod("a", { uid: "1" })]);
    const { applied } = store.applyChanges(changes(10, 12, [deleted(11, pod("a")), added(12, pod("a", { uid: "2" }))]));
    assert.deepEqual(summary(applied), ["deleted Pod/default/a", "new Pod/default/a"]);
    assert.equal(store.objects.get("Pod/default/a").uid, "2");
  });

  test("objects of the same name in other namespaces or kinds are different objects", () => {
    const store = storeAt(10, [pod("web"), { kind: "Service", namespace: "default", name: "web" }]);
    store.applyChanges(changes(10, 11, [deleted(11, { kind: "Pod", namespace: "other", name: "web" })]));
    store.applyChanges(changes(11, 12, [deleted(12, pod("web"))]));
    assert.deepEqual(names(store), ["Service/default/web"]);
  });

  test("changes before any snapshot apply (there is no rv to compare with) and set the rv", () => {
    const store = new LiveStore();
    const { resync, applied } = store.applyChanges(changes(40, 42, [added(41, pod("a")), modified(42, pod("a"))]));
    assert.equal(resync, null);
    assert.deepEqual(summary(applied), ["new Pod/default/a", "changed Pod/default/a"]);
    assert.equal(store.rv, 42);
  });

  test("a change without an rv always applies", () => {
    const store = storeAt(10, [pod("a")]);
    const { applied } = store.applyChanges(changes(10, 10, [modified(undefined, pod("a", { ready: "1/1" }))]));
    assert.deepEqual(summary(applied), ["changed Pod/default/a"]);
    assert.equal(store.objects.get("Pod/default/a").ready, "1/1");
  });

  test("a snapshot after changes wins: what it lacks is gone, and its rv is the new baseline", () => {
    const store = storeAt(10, [pod("a")]);
    store.applyChanges(changes(10, 12, [added(11, pod("b")), added(12, pod("c"))]));
    // A shared snapshot may be a little older than what the page has; the feed catches it up right after.
    const { added: fresh } = store.applySnapshot(snapshot(11, [pod("a"), pod("b")]));
    assert.deepEqual(fresh, []);
    assert.deepEqual(names(store), ["Pod/default/a", "Pod/default/b"]);
    assert.equal(store.rv, 11);
    const { applied } = store.applyChanges(changes(11, 12, [added(12, pod("c"))]));
    assert.deepEqual(summary(applied), ["new Pod/default/c"]);
  });
});
