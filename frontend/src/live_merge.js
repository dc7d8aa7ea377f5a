// The live feed's state: the objects the page knows, keyed "Kind/namespace/name", and the resourceVersion
// (rv) they are current at. The feed (clusters/web/consumer.py) sends a snapshot, then batches of changes
// {from, to, changes: [{event, rv, …summary}]} where `from` is the rv the batch follows on from. This module
// only merges; live.js owns the socket, the drawing and the fade-in/fade-out animations, and acts on what
// each merge reports. It touches no DOM, so frontend/test/ runs it under plain Node.

export const keyOf = (o) => `${o.kind}/${o.namespace}/${o.name}`;

export class LiveStore {
  constructor() {
    this.objects = new Map();     // key -> summary; the same Map for the page's lifetime (others hold it)
    this.columns = {};            // kind -> kubectl's column headings, from the last snapshot that had them
    this.rv = null;               // the last resourceVersion applied; null until the first snapshot
  }

  /**
   * Replaces everything with a snapshot. Answers { added }: the keys that were not there before, for the
   * "new" animation — none on the first snapshot, where everything is new and nothing should flash.
   */
  applySnapshot(message) {
    const before = new Set(this.objects.keys());
    const first = this.rv === null;
    const added = [];
    this.objects.clear();
    for (const o of message.objects) {
      const key = keyOf(o);
      this.objects.set(key, o);
      if (!first && !before.has(key)) added.push(key);
    }
    this.columns = message.columns || this.columns;
    this.rv = message.rv;
    return { added };
  }

  /**
   * Applies a batch of changes. When the batch starts after our rv, something in between never arrived:
   * nothing is applied and the answer is { resync: rv }, the rv to resume from. Otherwise answers
   * { resync: null, applied: [{ key, change: "new" | "changed" | "deleted", object }] } in feed order, where
   * `object` is the new summary, or for "deleted" the one that goes. Changes at or below our rv were applied
   * already (a batch overlapping one we had) and are skipped; so is deleting an object the page never had.
   */
  applyChanges(message) {
    if (this.rv !== null && message.from > this.rv) return { resync: this.rv };
    const since = this.rv ?? 0;
    const applied = [];
    for (const change of message.changes) {
      if (change.rv !== undefined && change.rv <= since) continue;
      const key = keyOf(change);
      if (change.event === "DELETED") {
        const old = this.objects.get(key);
        if (old === undefined) continue;
        this.objects.delete(key);
        applied.push({ key, change: "deleted", object: old });
      } else {
        applied.push({ key, change: this.objects.has(key) ? "changed" : "new", object: change });
        this.objects.set(key, change);
      }
    }
    // Never backwards: a stale batch (all of it at or below our rv) leaves the rv where it was.
    this.rv = Math.max(since, message.to);
    return { resync: null, applied };
  }
}
