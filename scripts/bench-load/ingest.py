"""Steady archive ingest for the load benchmark: writes bans into a (private) fail2ban's
own database at RATE rows a second, the way fail2ban records them (`bans` table, `data`
as JSON bytes with failures and matched lines), so the scheduler's archive import reads
them as it reads real ones. Prints how many it wrote when stopped (SIGTERM/SIGINT).

    python3 ingest.py DBFILE RATE JAIL[,JAIL...]
"""

import json
import random
import signal
import sqlite3
import sys
import time

dbfile, rate, jails = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(",")
rng = random.Random(7)


def public_v4():
    while True:
        a = rng.randrange(1, 224)
        if a not in (10, 100, 127, 169, 172, 192, 198):
            return f"{a}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


# Attackers come back: a pool with a few busy addresses and a long tail.
pool = [public_v4() for _ in range(50_000)]
stop = False


def on_signal(*_):
    global stop
    stop = True


signal.signal(signal.SIGTERM, on_signal)
signal.signal(signal.SIGINT, on_signal)

con = sqlite3.connect(dbfile, timeout=30, isolation_level=None)
con.execute("PRAGMA busy_timeout = 30000")
written = 0
tick = 0.1
started = time.monotonic()
while not stop:
    due = int(rate * (time.monotonic() - started)) - written
    if due > 0:
        now = int(time.time())
        rows = []
        for _ in range(due):
            ip = pool[int(len(pool) * rng.random() ** 3)]
            failures = rng.randrange(3, 12)
            lines = [f"sshd[{rng.randrange(99999)}]: Failed password for root from {ip} port {rng.randrange(1024, 65535)} ssh2"
                     for _ in range(min(failures, 3))]
            data = json.dumps({"matches": lines, "failures": failures}).encode()
            rows.append((rng.choice(jails), ip, now, 600, 1, data))
        con.execute("BEGIN IMMEDIATE")
        con.executemany(
            "INSERT INTO bans (jail, ip, timeofban, bantime, bancount, data) VALUES (?, ?, ?, ?, ?, ?)", rows)
        con.execute("COMMIT")
        written += due
    time.sleep(tick)
elapsed = time.monotonic() - started
print(f"ingest: wrote {written} bans into fail2ban's database in {elapsed:.1f} s ({written / elapsed:.0f}/s)", flush=True)
