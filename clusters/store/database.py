"""`Store` on the database: the etcd of the playground.

A DbStore lives for one request inside one transaction. Its first write locks
the cluster row (SELECT … FOR UPDATE on PostgreSQL; SQLite locks the whole
database anyway), so writes to one cluster are serialized and resourceVersions
strictly increase, as etcd revisions do. The change log is trimmed to the newest
CHANGE_LOG_SIZE rows; watches from before that get 410 Gone. A write of the
simulation's private notes moves the cluster's notes_version instead (no
resourceVersion, no watch event), so that a reconcile pass that read the cluster
before it cannot commit over it (clusters/sim/reconcile.py).
"""
from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Value
from django.db.models.functions import Greatest

from clusters.engine import jsontext
from clusters.models import ApiObject, Change, Cluster
from clusters.store.rows import Select, for_update

TRIM_EVERY = 50  # trim the change log every N writes, not on every one


dumps = jsontext.dumps   # the text stored: the one the engine's states compare theirs with (object_text)


_FIELD = ApiObject._meta.get_field
# The cluster's write lock (every API write takes it): its row, locked (_ROW on SQLite: rows.for_update).
_LOCKED_ROW = Select(Cluster, "WHERE {table}.id = %s FOR UPDATE", [Cluster._meta.pk],
                     columns=("resource_version", "notes_version"))
_ROW = Select(Cluster, "WHERE {table}.id = %s", [Cluster._meta.pk], columns=("resource_version", "notes_version"))
# The API's reads of objects (every get and list), by SQL written once (store/rows.py).
_OBJECT = Select(ApiObject, "WHERE {table}.cluster_id = %s AND {table}.kind = %s AND {table}.namespace = %s "
                            "AND {table}.name = %s",
                 [_FIELD("cluster"), _FIELD("kind"), _FIELD("namespace"), _FIELD("name")], columns=("data",))
_OBJECTS_OF_KIND = Select(ApiObject, "WHERE {table}.cluster_id = %s AND {table}.kind = %s "
                                     "ORDER BY {table}.namespace, {table}.name",
                          [_FIELD("cluster"), _FIELD("kind")], columns=("data",))
_OBJECTS_OF_KIND_IN = Select(ApiObject, "WHERE {table}.cluster_id = %s AND {table}.kind = %s "
                                        "AND {table}.namespace = %s ORDER BY {table}.namespace, {table}.name",
                             [_FIELD("cluster"), _FIELD("kind"), _FIELD("namespace")], columns=("data",))


class DbStore:
    """The objects of one cluster in the database. Use inside transaction.atomic()."""

    def __init__(self, cluster: Cluster, *, locked: bool = False) -> None:
        """`locked=True`: the caller already holds the cluster row's lock (it read `cluster` with
        SELECT … FOR UPDATE in this transaction), so no second round trip takes it again."""
        self.cluster = cluster
        self._rv = cluster.resource_version
        self._notes = cluster.notes_version   # the row's, once locked (read again by _lock unless `locked`)
        self._locked = locked
        self.written: list[int] = []
        self.notes_written = False   # set_sim/set_sims wrote: finish() moves the cluster's notes_version
        self.finish_updates: dict = {}   # more of the cluster's fields finish() sets when anything was written

    # reads
    def get(self, kind: str, namespace: str, name: str) -> dict | None:
        row = _OBJECT.one(self.cluster.pk, kind, namespace, name)
        return jsontext.loads(row[0]) if row is not None else None

    def list(self, kind: str, namespace: str | None = None) -> list[dict]:
        return [jsontext.loads(data) for data in self.list_json(kind, namespace)]

    def list_json(self, kind: str, namespace: str | None = None) -> list[str]:
        """Like list(), as the stored JSON texts: a plain list answer needs no parsing at all."""
        if namespace is None:
            return [data for data, in _OBJECTS_OF_KIND.all(self.cluster.pk, kind)]
        return [data for data, in _OBJECTS_OF_KIND_IN.all(self.cluster.pk, kind, namespace)]

    def count(self, kind: str | None = None) -> int:
        key = Cluster._meta.pk.get_db_prep_value(self.cluster.pk, connection)   # as snapshot() reads it
        sql = f"SELECT COUNT(*) FROM {ApiObject._meta.db_table} WHERE cluster_id = %s"
        with connection.cursor() as cursor:
            cursor.execute(sql if kind is None else f"{sql} AND kind = %s", [key] if kind is None else [key, kind])
            return cursor.fetchone()[0]

    @property
    def resource_version(self) -> int:
        return self._rv

    # writes
    def lock(self) -> None:
        """Take the cluster's write lock now (a reconcile takes it before reading its snapshot)."""
        self._lock()

    def set_sim(self, kind: str, namespace: str, name: str, sim: str) -> None:
        """Private notes changed without an API-visible change: no resourceVersion, no watch event."""
        self.set_sims([(kind, namespace, name, sim)])

    def snapshot(self, *, with_texts: bool = False):
        """Every object of the cluster and the simulation's notes about them (by uid); with_texts adds
        the stored JSON of each object (aligned with the objects)."""
        # One plain query without the ORM's per-row machinery: this runs on every reconcile pass.
        loads = jsontext.loads
        sims: dict[str, dict] = {}
        with connection.cursor() as cursor:
            # The key as this database stores it (a 32-hex string on SQLite, a uuid on PostgreSQL).
            key = Cluster._meta.pk.get_db_prep_value(self.cluster.pk, connection)
            cursor.execute(f"SELECT data, sim FROM {ApiObject._meta.db_table} WHERE cluster_id = %s", [key])
            rows = cursor.fetchall()
        # One decode of all the objects. Their keys' strings are shared (msgspec's decoder keeps the short
        # keys it met): a worker's kept state of the cluster takes about a quarter less memory than with a
        # string per key and object.
        texts = [data for data, _ in rows]
        objects = loads("[" + ",".join(texts) + "]")
        for obj, (_, sim) in zip(objects, rows):
            if sim != "{}":
                sims[obj["metadata"]["uid"]] = loads(sim)
        return (objects, sims, texts) if with_texts else (objects, sims)

    def _lock(self) -> None:
        if not self._locked:
            row = for_update(_LOCKED_ROW, _ROW).one(self.cluster.pk)
            if row is None:
                raise Cluster.DoesNotExist(f"cluster {self.cluster.pk} is gone")   # as .get() raised
            self._rv, self._notes = row
            self._locked = True

    def _writing_notes(self) -> int:
        """Note that this transaction writes notes, and return the notes_version its finish() moves the
        cluster to: what each row whose notes it writes is stamped with (ApiObject.notes_version). The caller
        holds the row lock."""
        self.notes_written = True
        return self._notes + 1

    def _stamp(self, obj: dict) -> tuple[str, str, str, str]:
        """Give `obj` the next resourceVersion; its key (kind, namespace, name) and stored JSON."""
        self._rv += 1
        meta = obj["metadata"]
        meta["resourceVersion"] = str(self._rv)
        return obj["kind"], meta.get("namespace", ""), meta["name"], dumps(obj)

    def write(self, event: str, obj: dict, sim: str | None = None) -> dict:
        """Store or forget `obj` at the next resourceVersion; `sim` sets the simulation's private notes.

        A MODIFIED `obj` whose uid is not the stored one's is another object under the same name (deleted
        and created again within one reconcile pass, as a StatefulSet's pod is): it is logged as the old
        object DELETED, then the new one ADDED, each at a resourceVersion of its own, as etcd logs a delete
        and a create, so a watch sees what it would from a real server. The old object's simulation notes
        go with it.
        """
        self._lock()
        kind, namespace, name, data = self._stamp(obj)
        meta = obj["metadata"]
        notes = self._writing_notes() if sim is not None else None
        if connection.vendor == "postgresql" and self._write_logged(event, kind, namespace, name, meta["uid"], data,
                                                                   sim, notes):
            self.written.append(self._rv)
            return obj
        rows = ApiObject.objects.filter(cluster_id=self.cluster.pk, kind=kind, namespace=namespace, name=name)
        if event == Change.DELETED:
            rows.delete()
        elif event == Change.ADDED:
            ApiObject.objects.create(cluster_id=self.cluster.pk, kind=kind, namespace=namespace, name=name,
                                     uid=meta["uid"], resource_version=self._rv, data=data, sim=sim or "{}",
                                     notes_version=notes or 0)
        else:
            fields = {"resource_version": self._rv, "data": data, "uid": meta["uid"]}
            if sim is not None:
                fields["sim"], fields["notes_version"] = sim, notes
            if not rows.filter(uid=meta["uid"]).update(**fields):
                stored = rows.values_list("data", flat=True).first()
                if stored is not None:  # another object under this name
                    self._log(Change.DELETED, kind, namespace, name, _as_deleted(stored, self._rv))
                    kind, namespace, name, data = self._stamp(obj)  # the create comes after the delete
                    rows.update(resource_version=self._rv, data=data, uid=meta["uid"], sim=sim or "{}",
                                notes_version=notes or 0)
                    event = Change.ADDED
        self._log(event, kind, namespace, name, data)
        return obj

    def _write_logged(self, event: str, kind: str, namespace: str, name: str, uid: str, data: str,
                      sim: str | None, notes: int | None) -> bool:
        """write()'s row and its change log entry in one statement (PostgreSQL): one round trip fewer while the
        cluster's row lock is held. False: a MODIFIED object whose stored uid is another (write() sees to it)."""
        table, log = ApiObject._meta.db_table, Change._meta.db_table
        logged = [self.cluster.pk, self._rv, event, kind, namespace, name, data]
        key = [self.cluster.pk, kind, namespace, name]
        where = "cluster_id = %s AND kind = %s AND namespace = %s AND name = %s"
        entry = f"INSERT INTO {log} (cluster_id, resource_version, type, kind, namespace, name, data)"
        with _raw_cursor() as cursor:
            if event == Change.ADDED:
                cursor.execute(f"WITH o AS (INSERT INTO {table} (cluster_id, kind, namespace, name, uid, "
                               f"resource_version, data, sim, notes_version) "
                               f"VALUES (%s, %s, %s, %s, %s::uuid, %s, %s, %s, %s)) "
                               f"{entry} VALUES (%s, %s, %s, %s, %s, %s, %s)",
                               [*key, uid, self._rv, data, sim or "{}", notes or 0, *logged])
                return True
            if event == Change.DELETED:
                cursor.execute(f"WITH o AS (DELETE FROM {table} WHERE {where}) "
                               f"{entry} VALUES (%s, %s, %s, %s, %s, %s, %s)", [*key, *logged])
                return True
            cursor.execute(f"WITH o AS (UPDATE {table} SET resource_version = %s, data = %s, "
                           f"sim = COALESCE(%s::text, sim), notes_version = COALESCE(%s::bigint, notes_version) "
                           f"WHERE {where} AND uid = %s::uuid RETURNING 1) "
                           f"{entry} SELECT %s, %s, %s, %s, %s, %s, %s WHERE EXISTS (SELECT 1 FROM o)",
                           [self._rv, data, sim, notes, *key, uid, *logged])
            return cursor.rowcount == 1

    def _log(self, event: str, kind: str, namespace: str, name: str, data: str) -> None:
        Change.objects.create(cluster_id=self.cluster.pk, resource_version=self._rv, type=event, kind=kind,
                              namespace=namespace, name=name, data=data)
        self.written.append(self._rv)

    def _replaced(self, items: list[tuple[str, dict, str | None]]) -> dict[tuple[str, str, str], str]:
        """Of the MODIFIED items, those whose stored object has another uid (see write()): key → stored JSON."""
        wanted = [(obj["kind"], obj["metadata"].get("namespace", ""), obj["metadata"]["name"], obj["metadata"]["uid"])
                  for event, obj, _ in items if event == Change.MODIFIED]
        found: dict[tuple[str, str, str], str] = {}
        table = ApiObject._meta.db_table
        with _raw_cursor() as cursor:
            for chunk in _chunks(wanted, 1000):
                rows = ", ".join(["(%s, %s, %s, %s::uuid)"] * len(chunk))
                cursor.execute(
                    f"SELECT o.kind, o.namespace, o.name, o.data FROM {table} AS o JOIN (VALUES {rows}) "
                    "AS v(kind, namespace, name, uid) ON o.kind = v.kind AND o.namespace = v.namespace "
                    "AND o.name = v.name WHERE o.cluster_id = %s AND o.uid <> v.uid",
                    [*(v for row in chunk for v in row), self.cluster.pk])
                for kind, namespace, name, data in cursor.fetchall():
                    found[(kind, namespace, name)] = data
        return found

    def write_many(self, items: list[tuple[str, dict, str | None]]) -> None:
        """write() for a whole reconcile pass at once: (event, object, sim or None) with at most one
        item per object, each at the next resourceVersion, in a few statements instead of two per
        object (PostgreSQL: one UPDATE … FROM (VALUES …) per chunk, COPY for the new rows)."""
        if connection.vendor != "postgresql" or len(items) < 4:
            for event, obj, sim in items:
                self.write(event, obj, sim=sim)
            return
        self._lock()
        cluster_id = self.cluster.pk
        added: list[tuple] = []
        modified: list[tuple] = []
        deleted: list[tuple[str, str, str]] = []
        changes: list[tuple] = []
        replaced = self._replaced(items)
        stamp = self._writing_notes() if any(sim is not None for _, _, sim in items) else 0
        for event, obj, sim in items:
            meta = obj["metadata"]
            notes = stamp if sim is not None else None   # the row's notes_version, when its notes are written
            stored = replaced.get((obj["kind"], meta.get("namespace", ""), meta["name"])) \
                if event == Change.MODIFIED else None
            if stored is not None:  # another object under this name: deleted, then created (see write())
                self._rv += 1
                changes.append((cluster_id, self._rv, Change.DELETED, obj["kind"], meta.get("namespace", ""),
                                meta["name"], _as_deleted(stored, self._rv)))
                self.written.append(self._rv)
                event = Change.ADDED
                kind, namespace, name, data = self._stamp(obj)
                modified.append((kind, namespace, name, self._rv, meta["uid"], data, sim or "{}", notes or 0))
            else:
                kind, namespace, name, data = self._stamp(obj)
                if event == Change.DELETED:
                    deleted.append((kind, namespace, name))
                elif event == Change.ADDED:
                    added.append((cluster_id, kind, namespace, name, meta["uid"], self._rv, data, sim or "{}",
                                  notes or 0))
                else:
                    modified.append((kind, namespace, name, self._rv, meta["uid"], data, sim, notes))
            changes.append((cluster_id, self._rv, event, kind, namespace, name, data))
            self.written.append(self._rv)
        table = ApiObject._meta.db_table
        with _raw_cursor() as cursor:
            for chunk in _chunks(deleted, 1000):
                rows = ", ".join(["(%s, %s, %s)"] * len(chunk))
                cursor.execute(f"DELETE FROM {table} WHERE cluster_id = %s AND (kind, namespace, name) IN ({rows})",
                               [cluster_id, *(v for row in chunk for v in row)])
            for chunk in _chunks(modified, 1000):
                rows = ", ".join(["(%s, %s, %s, %s::bigint, %s::uuid, %s::text, %s::text, %s::bigint)"] * len(chunk))
                cursor.execute(
                    f"UPDATE {table} AS o SET resource_version = v.rv, uid = v.uid, data = v.data, "
                    f"sim = COALESCE(v.sim, o.sim), notes_version = COALESCE(v.notes, o.notes_version) "
                    f"FROM (VALUES {rows}) AS v(kind, namespace, name, rv, uid, data, sim, notes) "
                    "WHERE o.cluster_id = %s AND o.kind = v.kind AND o.namespace = v.namespace AND o.name = v.name",
                    [*(v for row in chunk for v in row), cluster_id])
            _copy_rows(cursor, added, changes)

    def set_sims(self, items: list[tuple[str, str, str, str]]) -> None:
        """Private notes of many objects at once: (kind, namespace, name, sim)."""
        if not items:
            return
        self._lock()
        stamp = self._writing_notes()
        table = ApiObject._meta.db_table
        if connection.vendor != "postgresql" or len(items) < 4:
            # Plain statements: most passes change the notes of one or two objects, and building the ORM's
            # UPDATE cost more than running it.
            key = Cluster._meta.pk.get_db_prep_value(self.cluster.pk, connection)
            with connection.cursor() as cursor:
                cursor.executemany(f"UPDATE {table} SET sim = %s, notes_version = %s WHERE cluster_id = %s "
                                   "AND kind = %s AND namespace = %s AND name = %s",
                                   [(sim, stamp, key, kind, namespace, name) for kind, namespace, name, sim in items])
            return
        with _raw_cursor() as cursor:
            for chunk in _chunks(items, 1000):
                rows = ", ".join(["(%s, %s, %s, %s::text)"] * len(chunk))
                cursor.execute(
                    f"UPDATE {table} AS o SET sim = v.sim, notes_version = %s FROM (VALUES {rows}) "
                    "AS v(kind, namespace, name, sim) "
                    "WHERE o.cluster_id = %s AND o.kind = v.kind AND o.namespace = v.namespace AND o.name = v.name",
                    [stamp, *(v for row in chunk for v in row), self.cluster.pk])

    def finish(self) -> int | None:
        """Record the new resourceVersion and trim the log; returns it when anything was written. Notes
        written move the cluster's notes_version."""
        updates: dict = {"notes_version": F("notes_version") + 1} if self.notes_written else {}
        if not self.written:
            if updates:
                Cluster.objects.filter(pk=self.cluster.pk).update(**updates)
            return None
        updates["resource_version"] = self._rv
        updates.update(self.finish_updates)   # the same statement: one round trip under the lock, not two
        keep = settings.PLAYGROUND["CHANGE_LOG_SIZE"]
        first = self.written[0]
        if (self._rv // TRIM_EVERY) != ((first - 1) // TRIM_EVERY) and self._rv > keep:
            horizon = self._rv - keep
            Change.objects.filter(cluster_id=self.cluster.pk, resource_version__lte=horizon).delete()
            # (never back: a round of compaction, clusters/store/compaction.py, may have gone further)
            updates["compacted_resource_version"] = Greatest("compacted_resource_version", Value(horizon))
        Cluster.objects.filter(pk=self.cluster.pk).update(**updates)
        self.cluster.resource_version = self._rv
        return self._rv

    def bulk_add(self, objects: list[dict], sims: dict[str, dict] | None = None) -> None:
        """Write many new objects at once (a new cluster's content) with one resourceVersion each; `sims`: the
        simulation's notes about them, by uid."""
        sims = sims or {}
        self._lock()
        cluster_id = self.cluster.pk
        rows, changes = [], []
        for obj in objects:
            self._rv += 1
            meta = obj["metadata"]
            meta["resourceVersion"] = str(self._rv)
            data = dumps(obj)
            key = (obj["kind"], meta.get("namespace", ""), meta["name"])
            rows.append((cluster_id, *key, meta["uid"], self._rv, data,
                         dumps(sims[meta["uid"]]) if meta["uid"] in sims else "{}", 0))
            changes.append((cluster_id, self._rv, Change.ADDED, *key, data))
            self.written.append(self._rv)
        if connection.vendor == "postgresql":
            with _raw_cursor() as cursor:
                _copy_rows(cursor, rows, changes)
            return
        fields = ("cluster_id", "kind", "namespace", "name", "uid", "resource_version", "data", "sim", "notes_version")
        ApiObject.objects.bulk_create([ApiObject(**dict(zip(fields, row))) for row in rows])
        fields = ("cluster_id", "resource_version", "type", "kind", "namespace", "name", "data")
        Change.objects.bulk_create([Change(**dict(zip(fields, row))) for row in changes])


def _as_deleted(stored: str, resource_version: int) -> str:
    """The DELETED log entry of a stored object: as it was last stored, at the deletion's resourceVersion."""
    gone = jsontext.loads(stored)
    gone["metadata"]["resourceVersion"] = str(resource_version)
    return dumps(gone)


def _raw_cursor():
    """A psycopg cursor on Django's connection (same transaction) with server-side parameter binding:
    Django's client-side binding escapes every value in Python, slow for hundreds of JSON documents."""
    import psycopg

    connection.ensure_connection()
    return psycopg.Cursor(connection.connection)


def _chunks(items: list, size: int) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def in_transaction(cluster: Cluster, work: Callable[[DbStore], object],
                   on_commit: Callable[[int], None] | None = None) -> object:
    """Run `work` with a DbStore in one transaction; call on_commit(rv) after it commits if it wrote."""
    with transaction.atomic():
        store = DbStore(cluster)
        result = work(store)
        rv = store.finish()
        if rv is not None and on_commit is not None:
            transaction.on_commit(lambda: on_commit(rv))
    return result


def _copy_rows(cursor, objects: list[tuple], changes: list[tuple]) -> None:
    """New objects' rows and change-log rows written by COPY (PostgreSQL): the rows go over as they are, where
    bulk_create's arrays had psycopg escape every JSON text in Python (most of a new cluster's create)."""
    if objects:
        with cursor.copy(f"COPY {ApiObject._meta.db_table} (cluster_id, kind, namespace, name, uid, "
                         "resource_version, data, sim, notes_version) FROM STDIN") as copy:
            for row in objects:
                copy.write_row(row)
    if changes:
        with cursor.copy(f"COPY {Change._meta.db_table} (cluster_id, resource_version, type, kind, namespace, "
                         "name, data) FROM STDIN") as copy:
            for row in changes:
                copy.write_row(row)
