#!/usr/bin/env python3
"""Checks the monitoring files BanGUI ships, offline:
- the Prometheus alert rules compile and behave (`promtool check rules`, `promtool test
  rules`, from Debian's `prometheus` package);
- the Grafana dashboard (Docs/grafana/bangui-dashboard.json) has the shape Grafana imports:
  a title, a uid, a schema version, panels with unique ids and grid positions inside 24
  columns, a Prometheus data source on every query, and queries that name only metrics
  BanGUI exports (the f2b_* exporter names and BanGUI's own).

    python3 scripts/check-monitoring.py      # exit status 0 when all is well
"""
import json
import pathlib
import re
import shutil
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
RULES = ROOT / "k8s" / "monitoring" / "bangui-alerts.rules.yml"
RULE_TESTS = ROOT / "k8s" / "monitoring" / "bangui-alerts.test.yml"
DASHBOARD = ROOT / "Docs" / "grafana" / "bangui-dashboard.json"

# What the binaries export (names as written in the code, plus the histogram suffixes).
EXPORTED = {
    "f2b_up", "f2b_errors", "f2b_jail_count", "f2b_jail_banned_current", "f2b_jail_banned_total",
    "f2b_jail_failed_current", "f2b_jail_failed_total", "f2b_config_jail_ban_time",
    "f2b_config_jail_find_time", "f2b_config_jail_max_retries", "f2b_jail_config_ban_time",
    "f2b_jail_config_find_time", "f2b_jail_config_fail_count", "f2b_jail_config_max_retry",
    "f2b_version",
}
problems = []


def code_metrics():
    """Metric names the Rust code records through the `metrics` macros."""
    names = set()
    for path in ROOT.glob("*/src/**/*.rs"):
        names |= set(re.findall(r'(?:counter|gauge|histogram)!\(\s*"([a-z_]+)"', path.read_text()))
    return names


def check_rules():
    promtool = shutil.which("promtool")
    if not promtool:
        problems.append("promtool not found (apt-get install prometheus)")
        return
    for args in (["check", "rules", str(RULES)], ["test", "rules", str(RULE_TESTS)]):
        r = subprocess.run([promtool, *args], capture_output=True, text=True)
        if r.returncode != 0:
            problems.append(f"promtool {' '.join(args[:2])}: {r.stdout}{r.stderr}")


def metric_names(expr):
    words = set(re.findall(r"\b([a-z_][a-z0-9_]*)\b", re.sub(r'"[^"]*"', "", expr)))
    return {w for w in words if w.startswith(("f2b_", "scheduler_", "http_", "api_"))}


def check_dashboard(known):
    try:
        d = json.loads(DASHBOARD.read_text())
    except (OSError, ValueError) as e:
        problems.append(f"{DASHBOARD}: {e}")
        return
    for key in ("title", "uid", "schemaVersion", "panels"):
        if key not in d:
            problems.append(f"dashboard: no {key}")
    ids = set()
    for p in d.get("panels", []):
        pid = p.get("id")
        if pid in ids:
            problems.append(f"dashboard: panel id {pid} twice")
        ids.add(pid)
        g = p.get("gridPos", {})
        if not all(isinstance(g.get(k), int) for k in ("x", "y", "w", "h")) or g["x"] + g["w"] > 24:
            problems.append(f"dashboard: panel {pid} has a bad gridPos {g}")
        if p.get("type") == "row":
            continue
        if not p.get("targets"):
            problems.append(f"dashboard: panel {pid} ({p.get('title')}) has no query")
        for t in p.get("targets", []):
            if t.get("datasource", {}).get("type") != "prometheus":
                problems.append(f"dashboard: panel {pid} query {t.get('refId')} is not on Prometheus")
            for name in metric_names(t.get("expr", "")):
                base = re.sub(r"_(bucket|sum|count)$", "", name)
                if name not in known and base not in known:
                    problems.append(f"dashboard: panel {pid} uses {name}, which BanGUI does not export")


def check_rule_metrics(known):
    text = RULES.read_text()
    for expr in re.findall(r"expr: *\|?\n?((?:.|\n)*?)(?:\n\s+for:)", text):
        for name in metric_names(expr):
            if name not in known:
                problems.append(f"alert rules use {name}, which BanGUI does not export")


known = EXPORTED | code_metrics()
check_rules()
check_dashboard(known)
check_rule_metrics(known)
if problems:
    print("\n".join(problems))
    sys.exit(1)
print(f"monitoring: rules and dashboard OK ({len(known)} metric names known)")
