"""The database's size per table and per index, and bytes per archived event.

    python3 storage.py postgres URL
    python3 storage.py sqlite URL FILE

PostgreSQL: pg_relation_size of each table (with its TOAST) and of each index.
SQLite: the dbstat virtual table (Debian's sqlite3 has it), pages per table and index.
"""

import subprocess
import sys

backend, url = sys.argv[1], sys.argv[2]


def rows(sql):
    if backend == "postgres":
        cmd = ["psql", "-qtA", "-F", "\t", url, "-c", sql]
    else:
        cmd = ["sqlite3", "-separator", "\t", sys.argv[3], sql]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return [line.split("\t") for line in out.splitlines() if line.strip()]


events = int(rows("SELECT count(*) FROM ban_events")[0][0])
if backend == "postgres":
    sizes = rows(
        """SELECT t.relname, t.relname,
                  pg_relation_size(t.oid) + COALESCE(pg_total_relation_size(NULLIF(t.reltoastrelid, 0)), 0)
           FROM pg_class t JOIN pg_namespace n ON n.oid = t.relnamespace
           WHERE n.nspname = 'public' AND t.relkind = 'r'
           UNION ALL
           SELECT t.relname, i.relname, pg_relation_size(i.oid)
           FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
           JOIN pg_namespace n ON n.oid = t.relnamespace WHERE n.nspname = 'public'"""
    )
    total = int(rows("SELECT pg_database_size(current_database())")[0][0])
else:
    sizes = rows(
        """SELECT COALESCE(m.tbl_name, d.name), d.name, d.pgsize
           FROM dbstat d LEFT JOIN sqlite_master m ON m.name = d.name WHERE d.aggregate = TRUE"""
    )
    total = int(rows("SELECT page_count * page_size FROM pragma_page_count, pragma_page_size")[0][0])
    free = int(rows("SELECT freelist_count * page_size FROM pragma_freelist_count, pragma_page_size")[0][0])
    if free:
        print(f"(of the file, {free / 2**20:,.1f} MiB are free pages that later writes reuse; VACUUM returns them)")

by_table = {}
for table, name, size in sizes:
    by_table.setdefault(table, []).append((name, int(size)))
ordered = sorted(by_table.items(), key=lambda kv: -sum(s for _, s in kv[1]))
print(f"== storage ({backend}): {events:,} events, database {total / 2**20:,.1f} MiB, "
      f"{total / max(events, 1):,.0f} bytes per event")
print(f"{'table / index':44} {'MiB':>10} {'B/event':>9}")
for table, parts in ordered:
    whole = sum(s for _, s in parts)
    if whole < 1 << 20:
        continue
    print(f"{table:44} {whole / 2**20:10.1f} {whole / max(events, 1):9.1f}")
    for name, size in sorted(parts, key=lambda p: -p[1]):
        label = "  (rows)" if name == table else f"  {name}"
        print(f"{label:44} {size / 2**20:10.1f} {size / max(events, 1):9.1f}")
small = sum(sum(s for _, s in p) for _, p in ordered if sum(s for _, s in p) < 1 << 20)
print(f"{'every other table (< 1 MiB each)':44} {small / 2**20:10.1f} {small / max(events, 1):9.1f}")
