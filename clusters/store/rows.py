"""Reads of one model's rows on the hot paths, by SQL written once instead of a queryset built per call.

Every API request, page update and watch event reads its cluster's row and some objects or log entries, and
building a Django queryset for each read (filter, compile, iterate) cost ~0.4–0.6 ms of CPU where the
database's own answer costs ~0.1 ms (measured against PostgreSQL on the 2-core machine:
`Cluster.objects.filter(pk=…).first()` 457 µs, this 100 µs). A `Select` names the model's columns, converts
the values with the database backend's own converters (as a queryset does: SQLite's UUIDs, booleans and
datetimes) and makes instances with `Model.from_db`, so callers get what the queryset would give.
Parameters are passed through their field's `get_db_prep_value`, as a lookup would.
"""
from __future__ import annotations

from collections.abc import Sequence

from django.db import connections, router
from django.db.models import Field, Model


class Select:
    """`SELECT <columns> FROM <model's table> <tail>`.

    `columns`: the fields' names to read, each row a tuple of their values; None: every concrete field, each
    row an instance of `model`. `tail` names the model's table as `{table}` and takes one `%s` per entry of
    `params`: the field whose column the parameter is compared with (for its database form), or None for a
    value passed as it is (a LIMIT)."""

    def __init__(self, model: type[Model], tail: str, params: Sequence[Field | None],
                 columns: Sequence[str] | None = None) -> None:
        self.model = model
        self.tail = tail
        self.params = tuple(params)
        self.instances = columns is None
        meta = model._meta
        self.fields = list(meta.concrete_fields) if columns is None else [meta.get_field(name) for name in columns]
        self.names = [field.attname for field in self.fields]
        self._compiled: dict[str, tuple[str, list]] = {}   # per connection alias: SQL, converters

    def _compile(self, connection) -> tuple[str, list]:
        found = self._compiled.get(connection.alias)
        if found is None:
            quote = connection.ops.quote_name
            table = quote(self.model._meta.db_table)
            columns = ", ".join(f"{table}.{quote(field.column)}" for field in self.fields)
            converters = []   # (column index, its expression, its converters) for the columns that have any
            for index, field in enumerate(self.fields):
                column = field.get_col(self.model._meta.db_table)
                found_converters = connection.ops.get_db_converters(column) + field.get_db_converters(connection)
                if found_converters:
                    converters.append((index, column, found_converters))
            found = self._compiled[connection.alias] = (
                f"SELECT {columns} FROM {table} {self.tail.format(table=table)}", converters)
        return found

    def all(self, *values) -> list:
        db = router.db_for_read(self.model)
        connection = connections[db]
        sql, converters = self._compile(connection)
        params = [value if field is None else field.get_db_prep_value(value, connection)
                  for field, value in zip(self.params, values, strict=True)]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        if converters:
            rows = [self._converted(row, converters, connection) for row in rows]
        if self.instances:
            return [self.model.from_db(db, self.names, row) for row in rows]
        return rows

    def one(self, *values):
        """The first row (the tail should say which, and LIMIT 1), or None."""
        found = self.all(*values)
        return found[0] if found else None

    @staticmethod
    def _converted(row, converters, connection) -> tuple:
        values = list(row)
        for index, column, column_converters in converters:
            for converter in column_converters:
                values[index] = converter(values[index], column, connection)
        return tuple(values)


def for_update(locked: Select, plain: Select) -> Select:
    """`locked` (its tail ends in FOR UPDATE) where the database locks rows; `plain` on SQLite, which has no
    FOR UPDATE (Django's select_for_update() leaves it out there too): a writing transaction holds the whole
    database anyway."""
    connection = connections[router.db_for_write(locked.model)]
    return locked if connection.features.has_select_for_update else plain
