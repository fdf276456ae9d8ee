"""`lakefeed query`: the catalog's SQL over a lake, on this machine.

The AWS catalog (terraform/modules/catalog, docs/query.md) gives each topic a table of
its raw lines and a deduplicated view. This module builds the same two per topic in an
in-process DuckDB, with the same names: the same SQL answers on the lab as in Athena.

- The lake's objects are copied into a local mirror first (`mirror`): they never change
  once written (the spool contract names them by their offsets), so a key already
  mirrored is never fetched again. DuckDB then reads local gzip files; its own S3 support
  is an extension it would download at run time.
- `<topic>_lines` has Athena's columns: `line`, `year`, `month`, `day`, `hour` and
  `"$path"` (the object's `s3://` URI).
- `<topic>` is the view of terraform/modules/catalog/view.sql.tftpl, the file Terraform
  stores in Glue, run as it is. Three Trino functions it uses are defined as DuckDB
  macros with Trino's meaning (`_TRINO_MACROS`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lakefeed import lake
from lakefeed.errors import LakefeedError
from lakefeed.record import SPOOL_SUFFIX

VIEW_TEMPLATE = Path("terraform") / "modules" / "catalog" / "view.sql.tftpl"

# Trino's functions the view uses, in DuckDB: json_extract_scalar is NULL for an object
# or an array (DuckDB's json_extract_string would give their text), json_format writes
# a JSON value as text.
_TRINO_MACROS = (
    "CREATE MACRO json_extract_scalar(j, p) AS CASE WHEN json_type(json_extract(j, p)) "
    "IN ('OBJECT', 'ARRAY') THEN NULL ELSE json_extract_string(j, p) END",
    "CREATE MACRO json_format(j) AS CAST(j AS VARCHAR)",
    "CREATE MACRO from_iso8601_timestamp(s) AS CAST(s AS TIMESTAMPTZ)",
)


def table_name(topic: str) -> str:
    """The catalog's table of a topic: terraform/modules/catalog's rule (x.posts ->
    x_posts)."""
    return re.sub(r"[^A-Za-z0-9_]", "_", topic).lower()


def database_name(cluster: str) -> str:
    """The catalog's database of a cluster name (lakefeed-dev -> lakefeed_dev_lake)."""
    return cluster.lower().replace("-", "_") + "_lake"


def view_sql(root: Path, database: str, table: str) -> str:
    """The deduplicated view's SQL, from the template Terraform uses (`templatefile`)."""
    text = (root / VIEW_TEMPLATE).read_text(encoding="utf-8")
    return text.replace("${database}", database).replace("${table}", table).strip()


@dataclass
class Mirrored:
    fetched: int  # objects copied this time
    objects: int  # objects in the mirror, in all


def mirror(
    client: Any,
    bucket: str,
    prefix: str,
    into: Path,
    say: Callable[[str], None],
    *,
    suffix: str = SPOOL_SUFFIX,
) -> Mirrored:
    """Copy the objects under `prefix` ending in `suffix` that `into` does not hold yet,
    each to `into/<key less prefix>` (written beside, then renamed: an interrupted copy
    leaves no part). A copy has its object's size and time: one replaced in S3 since (a
    compacted hour written again) is fetched again."""
    fetched = objects = 0
    for obj in lake.listed(client, bucket, prefix):
        key = obj["Key"]
        if not key.endswith(suffix) or ".." in key.split("/"):
            continue
        objects += 1
        path = into / key[len(prefix) :]
        modified = obj["LastModified"].timestamp()
        if path.is_file():
            have = path.stat()
            if have.st_size == obj["Size"] and have.st_mtime == modified:
                continue
        path.parent.mkdir(parents=True, exist_ok=True)
        part = path.with_name(path.name + ".part")
        client.download_file(bucket, key, str(part))
        os.utime(part, (modified, modified))
        part.replace(path)
        fetched += 1
        if fetched % 200 == 0:
            say(f"mirrored {fetched} new objects so far")
    say(f"lake mirror {into}: {fetched} new objects, {objects} in all")
    return Mirrored(fetched, objects)


def _literal(text: str) -> str:
    """A SQL string literal of `text`."""
    return "'" + text.replace("'", "''") + "'"


# A topic's objects, below its directory: the lake key's hours (`year=`..`hour=`).
_HOURS_GLOB = "year=*/month=*/day=*/hour=*/*"
# The options of every table read from files: each row's file, and the hours as
# integer columns, as Athena's partition projection gives them.
_HIVE_OPTIONS = (
    "filename=true, hive_partitioning=true, "
    "hive_types={'year': 'INTEGER', 'month': 'INTEGER', 'day': 'INTEGER', 'hour': 'INTEGER'}"
)


def _s3_path(local: Path, location: str) -> str:
    """Athena's `"$path"`: the object's URI, from the row's file under `local`, a copy of
    what is at `location`."""
    cut = len(str(local)) + 2  # where the key starts in a file's path (1-based)
    return f'{_literal(location)} || substr(filename, {cut}) AS "$path"'


class LocalCatalog:
    """DuckDB over a mirrored lake, with the catalog's database, tables and views.

    A topic is a directory holding `year=` directories (`<prefix>/<topic>/year=...`, the
    lake key), wherever it is under `lake`."""

    def __init__(
        self,
        root: Path,
        lake: Path,
        bucket: str,
        database: str,
        compacted: tuple[Path, str] | None = None,
    ) -> None:
        import duckdb  # noqa: PLC0415  (only the controller's commands need it)

        self.database = database
        self.con = duckdb.connect()
        for macro in _TRINO_MACROS:
            self.con.execute(macro)
        self.con.execute(f'CREATE SCHEMA "{database}"')
        topic_dirs = sorted({p.parent for p in lake.rglob("year=*") if p.is_dir()})
        tables: dict[str, Path] = {}
        for topic_dir in topic_dirs:
            table = table_name(topic_dir.name)
            if table in tables:
                raise LakefeedError(
                    f"{tables[table]} and {topic_dir} would both be table {table}: "
                    "query one lake prefix at a time"
                )
            tables[table] = topic_dir
        for table, topic_dir in tables.items():
            files = _literal(f"{topic_dir}/{_HOURS_GLOB}{SPOOL_SUFFIX}")
            # One column, the whole line: U+0001 never occurs raw in a JSON line. Table
            # names are [a-z0-9_] (table_name), the paths and the bucket quoted literals.
            self.con.execute(
                f'CREATE VIEW "{database}"."{table}_lines" AS '  # noqa: S608
                f"SELECT line, year, month, day, hour, {_s3_path(lake, f's3://{bucket}/')} "
                f"FROM read_csv({files}, columns={{'line': 'VARCHAR'}}, delim=chr(1), "
                "quote='', escape='', header=false, compression='gzip', "
                f"max_line_size=134217728, {_HIVE_OPTIONS})"
            )
            self.con.execute(
                f'CREATE VIEW "{database}"."{table}" AS {view_sql(root, database, table)}'
            )
        self.topics = sorted(d.name for d in tables.values())
        self.compacted: list[str] = []
        if compacted is not None:
            self._compacted_tables(*compacted)
        self.con.execute(f'SET schema = "{database}"')

    def _compacted_tables(self, mirror: Path, location: str) -> None:
        """`<topic>_compacted`: the Parquet objects of `lakefeed compact` (mirrored in
        `mirror`, from `location`), with the view's columns and partitions."""
        if not mirror.is_dir():
            return
        for topic_dir in sorted(p for p in mirror.iterdir() if p.is_dir()):
            table = table_name(topic_dir.name)
            files = _literal(f"{topic_dir}/{_HOURS_GLOB}.parquet")
            self.con.execute(
                f'CREATE VIEW "{self.database}"."{table}_compacted" AS '  # noqa: S608
                f"SELECT * EXCLUDE (filename), {_s3_path(mirror, location)} "
                f"FROM read_parquet({files}, {_HIVE_OPTIONS})"
            )
            self.compacted.append(topic_dir.name)

    def sql(self, text: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        """(column names, rows) of one statement; LakefeedError with DuckDB's message."""
        import duckdb  # noqa: PLC0415

        try:
            result = self.con.execute(text)
            rows = result.fetchall()
        except duckdb.Error as exc:
            raise LakefeedError(f"query failed: {exc}") from exc
        return [d[0] for d in result.description or []], rows


def render(columns: list[str], rows: list[tuple[Any, ...]]) -> str:
    """A plain text table, columns as wide as their widest value."""
    cells = [columns, *[["" if v is None else str(v) for v in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines) + f"\n({len(rows)} rows)\n"
