"""Browser tabs, as the load benchmark's clients (scripts/bench-load.sh).

Each locust user is one open BanGUI tab of a signed-in person: it signs in once, polls
`/status` every 5 s for as long as it is open (the top bar does), and otherwise moves
between pages the way people do, a page every few seconds: the dashboard (its panels
fetched together, as the browser does, over every range and with the filters people
click), the map, history searches, an IP's timeline, the jail pages, and now and then a
ban and its unban. The users are spread over the API replicas (BENCH_REPLICAS, a comma
list of base URLs), one replica per tab, as a load balancer with sticky sessions would.

Requests are named by endpoint, so locust's statistics are per endpoint.
"""

import itertools
import os
import random

import gevent
from http.cookiejar import Cookie
from urllib.parse import urlparse
from locust import FastHttpUser, between, events, task

REPLICAS = os.environ.get("BENCH_REPLICAS", "http://127.0.0.1:18081").split(",")
SESSION = os.environ["BENCH_SESSION"]
JAILS = os.environ.get("BENCH_JAILS", "jail-00,jail-01,jail-02,sshd").split(",")
BAN_JAIL = os.environ.get("BENCH_BAN_JAIL", "web-auth")
LIVE_JAILS = os.environ.get("BENCH_LIVE_JAILS", "sshd,web-auth,bulk").split(",")
COUNTRIES = ["US", "CN", "RU", "DE", "BR", "IN", "FR", "NL"]
RANGES = ["24h", "7d", "30d", "365d"]
ORIGINS = ["auto", "blocklist", "manual"]
_replica = itertools.count()
# What the web UI sends on cookie-authenticated writes (the API's CSRF check).
CSRF = {"X-Requested-With": "bangui"}


def make_cookie(base, value):
    host = urlparse(base).hostname
    return Cookie(0, "bangui_session", value, None, False, host, False, False, "/", True,
                  False, None, False, None, None, {})


def filters():
    """The dashboard filters a person sets: mostly none, sometimes one or two."""
    q = {"range": random.choice(RANGES)}
    roll = random.random()
    if roll < 0.15:
        q["jail"] = random.choice(JAILS)
    elif roll < 0.25:
        q["origin"] = random.choice(ORIGINS)
    elif roll < 0.33:
        q["country"] = random.choice(COUNTRIES)
    elif roll < 0.38:
        q["jail"] = random.choice(JAILS)
        q["origin"] = "auto"
    return q


class Tab(FastHttpUser):
    wait_time = between(2, 8)
    # The base URL is chosen per user in on_start; locust needs one to start.
    host = REPLICAS[0]

    def on_start(self):
        self.base = REPLICAS[next(_replica) % len(REPLICAS)]
        self.seen_ips = []
        # One session for every tab (bench-load.sh signs in once): 64 sign-ins from one
        # address in a second are, rightly, refused as an attack (429).
        self.client.cookiejar.set_cookie(make_cookie(self.base, SESSION))
        self.writes = {**CSRF, "Origin": self.base}
        self.poller = gevent.spawn(self.poll_status)

    def on_stop(self):
        self.poller.kill()

    def get(self, path, name, params=None):
        with self.client.get(
            f"{self.base}/api/v1{path}", params=params, name=name, catch_response=True
        ) as r:
            if r.status_code != 200:
                r.failure(f"{r.status_code} {r.text[:200]}")
            return r

    def poll_status(self):
        gevent.sleep(random.uniform(0, 5))
        while True:
            self.get("/status", "status")
            gevent.sleep(5)

    def remember_ips(self, r):
        try:
            items = r.json().get("items", [])
        except Exception:
            return
        ips = [i.get("ip") for i in items if isinstance(i, dict) and i.get("ip")]
        self.seen_ips = (ips[:5] + self.seen_ips)[:20]

    @task(6)
    def dashboard(self):
        q = filters()
        page = {"page": random.choice([1, 1, 1, 2, 5])}
        jobs = [
            gevent.spawn(self.get, "/dashboard/bans", "dashboard/bans", {**q, **page, "page_size": 25}),
            gevent.spawn(self.get, "/dashboard/trend", "dashboard/trend", {**q, "series": "origin"}),
            gevent.spawn(self.get, "/dashboard/by-country", "dashboard/by-country", {**q, "page_size": 1}),
            gevent.spawn(self.get, "/dashboard/by-jail", "dashboard/by-jail", q),
            gevent.spawn(self.get, "/dashboard/by-asn", "dashboard/by-asn", {**q, "limit": 10}),
            gevent.spawn(self.get, "/dashboard/repeat-offenders", "dashboard/repeat-offenders", {**q, "limit": 10}),
        ]
        gevent.joinall(jobs)
        self.remember_ips(jobs[0].value)

    @task(2)
    def world_map(self):
        q = filters()
        q.pop("country", None)
        self.get("/dashboard/by-country", "dashboard/by-country", {**q, "page_size": 50})

    @task(4)
    def history(self):
        q = {"page_size": 50}
        roll = random.random()
        if roll < 0.3 and self.seen_ips:
            ip = random.choice(self.seen_ips)
            # An address, or the start of one (prefix search), or its /16.
            if "." in ip:
                q["ip"] = random.choice([ip, ip.rsplit(".", 2)[0] + ".", ip.rsplit(".", 2)[0] + ".0.0/16"])
            else:
                q["ip"] = random.choice([ip, ip.split(":")[0] + ":"])
        elif roll < 0.5:
            q["state"] = random.choice(["banned", "expired", "unbanned"])
        elif roll < 0.7:
            q.update(filters())
        q["page"] = random.choice([1, 1, 1, 2, 10])
        self.remember_ips(self.get("/history", "history", q))

    @task(3)
    def ip_timeline(self):
        if not self.seen_ips:
            self.remember_ips(self.get("/dashboard/bans", "dashboard/bans", {"range": "24h", "page_size": 25}))
        if self.seen_ips:
            ip = random.choice(self.seen_ips)
            self.get(f"/history/{ip}", "history/{ip}", {"limit": 200})

    @task(3)
    def jail_pages(self):
        self.get("/jails", "jails")
        jail = random.choice(LIVE_JAILS)
        self.get(f"/jails/{jail}", "jails/{name}")
        self.get(f"/jails/{jail}/bans", "jails/{name}/bans", {"page_size": 50})

    @task(1)
    def ban_and_unban(self):
        ip = f"198.18.{random.randrange(256)}.{random.randrange(1, 255)}"
        with self.client.post(
            f"{self.base}/api/v1/bans",
            json={"jail": BAN_JAIL, "ips": [ip]},
            name="bans (POST)",
            headers=self.writes,
            catch_response=True,
        ) as r:
            if r.status_code not in (200, 202):
                r.failure(f"{r.status_code} {r.text[:200]}")
        gevent.sleep(random.uniform(1, 3))
        with self.client.post(
            f"{self.base}/api/v1/bans/unban",
            json={"jail": BAN_JAIL, "ips": [ip]},
            name="bans/unban (POST)",
            headers=self.writes,
            catch_response=True,
        ) as r:
            if r.status_code not in (200, 202):
                r.failure(f"{r.status_code} {r.text[:200]}")


@events.init_command_line_parser.add_listener
def _(parser):
    parser.add_argument("--bench-note", default="", help="free text printed with the results")
