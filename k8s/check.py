#!/usr/bin/env python3
"""Checks the Kubernetes manifests: every overlay renders (kubectl kustomize), validates
strictly against the Kubernetes schemas offline (kubernetes-validate), and agrees with the
code: the env var names the binaries read, the ports they listen on, the probe paths they
serve, the binary names the images install.

    python3 k8s/check.py          # exit status 0 when everything agrees
"""
import pathlib
import re
import subprocess
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
OVERLAYS = sorted(p for p in (ROOT / "k8s" / "overlays").iterdir() if (p / "kustomization.yaml").exists())
problems = []


def fail(msg):
    problems.append(msg)


def code_env_vars():
    """Every BANGUI_* name the configuration code reads."""
    text = (ROOT / "shared" / "src" / "config.rs").read_text()
    return set(re.findall(r'"(BANGUI_[A-Z0-9_]+)"', text)) | {"POD_NAME"}


def served_paths(*files):
    paths = set()
    for f in files:
        paths |= set(re.findall(r'\.at\("(/[a-z/]+)"', (ROOT / f).read_text()))
    return paths


def port_of(addr):
    return int(addr.rsplit(":", 1)[1])


def container_env(container, configmaps):
    env = {e["name"]: e.get("value") for e in container.get("env", [])}
    for src in container.get("envFrom", []):
        ref = src.get("configMapRef")
        if ref:
            env.update(configmaps.get(ref["name"], {}))
    return env


def check_overlay(overlay):
    rendered = subprocess.run(["kubectl", "kustomize", str(overlay)], capture_output=True, text=True)
    if rendered.returncode != 0:
        fail(f"{overlay.name}: kubectl kustomize failed: {rendered.stderr.strip()}")
        return
    out = ROOT / "target" / f"k8s-{overlay.name}.yaml"
    out.parent.mkdir(exist_ok=True)
    out.write_text(rendered.stdout)
    valid = subprocess.run(["kubernetes-validate", "--strict", "--quiet", "-k", "1.30.0", str(out)], capture_output=True, text=True)
    if valid.returncode != 0:
        fail(f"{overlay.name}: schema validation failed:\n{valid.stdout}{valid.stderr}")
    docs = [d for d in yaml.safe_load_all(rendered.stdout) if d]
    configmaps = {d["metadata"]["name"]: d.get("data", {}) for d in docs if d["kind"] == "ConfigMap"}
    known = code_env_vars()
    for name, data in configmaps.items():
        if name.startswith("bangui"):
            for key in data:
                if key.startswith("BANGUI_") and key not in known:
                    fail(f"{overlay.name}: ConfigMap {name} sets {key}, which no binary reads")
    for d in docs:
        if d["kind"] not in ("Deployment", "StatefulSet", "Job"):
            continue
        spec = d["spec"]["template"]["spec"]
        for c in spec["containers"]:
            env = container_env(c, configmaps)
            for key in env:
                if (key.startswith("BANGUI_") or key == "POD_NAME") and key not in known:
                    fail(f"{overlay.name}: {d['metadata']['name']} sets {key}, which no binary reads")
            image = c["image"]
            name = d["metadata"]["name"]
            if name == "bangui-api":
                port = port_of(env.get("BANGUI_API_ADDR", "127.0.0.1:8080"))
                ports = {p["containerPort"] for p in c["ports"]}
                if port not in ports:
                    fail(f"{overlay.name}: the API listens on {port} but the container declares {ports}")
                paths = served_paths("api/src/app.rs")
                for probe in ("readinessProbe", "livenessProbe"):
                    path = c[probe]["httpGet"]["path"]
                    if path not in paths:
                        fail(f"{overlay.name}: API {probe} {path} is not served (served: {sorted(paths)})")
                if c["readinessProbe"]["httpGet"]["path"] != "/readyz":
                    fail(f"{overlay.name}: API readiness must use /readyz")
            if name == "bangui-scheduler":
                port = port_of(env.get("BANGUI_SCHEDULER_ADDR", "127.0.0.1:9090"))
                ports = {p["containerPort"] for p in c["ports"]}
                if port not in ports:
                    fail(f"{overlay.name}: the scheduler listens on {port} but the container declares {ports}")
                paths = served_paths("scheduler/src/http.rs")
                for probe in ("readinessProbe", "livenessProbe"):
                    path = c[probe]["httpGet"]["path"]
                    if path not in paths:
                        fail(f"{overlay.name}: scheduler {probe} {path} is not served")
                if not any(e["name"] == "POD_NAME" and "fieldRef" in e.get("valueFrom", {}) for e in c.get("env", [])):
                    fail(f"{overlay.name}: the scheduler needs POD_NAME from the downward API")
                mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
                socket_dir = str(pathlib.PurePosixPath(env["BANGUI_FAIL2BAN_SOCKET"]).parent)
                if socket_dir not in mounts:
                    fail(f"{overlay.name}: the socket directory {socket_dir} is not mounted")
                if not mounts.get("/var/lib/fail2ban", {}).get("readOnly"):
                    fail(f"{overlay.name}: /var/lib/fail2ban must be mounted read-only")
                if spec.get("terminationGracePeriodSeconds", 30) < 5:
                    fail(f"{overlay.name}: the scheduler needs time to stop jobs and release the lease")
                if d["spec"]["replicas"] != 1:
                    fail(f"{overlay.name}: the scheduler StatefulSet must have one replica")
            if name == "bangui-migrate":
                binary = pathlib.PurePosixPath(c["command"][0]).name
                bins = re.findall(r'name = "(bangui-[a-z]+)"', (ROOT / "migrations" / "Cargo.toml").read_text())
                if binary not in bins:
                    fail(f"{overlay.name}: the migration Job runs {binary}, not a binary of migrations/ ({bins})")
                if "bangui-api" not in image:
                    fail(f"{overlay.name}: the migration Job should use the api image, which ships bangui-migrate")


def check_images():
    for image, binary, port in (("api", "bangui-api", 8080), ("scheduler", "bangui-scheduler", 9090)):
        text = (ROOT / "k8s" / "images" / f"{image}.Dockerfile").read_text()
        if f"EXPOSE {port}" not in text:
            fail(f"{image}.Dockerfile does not EXPOSE {port}")
        if f'ENTRYPOINT ["/usr/local/bin/{binary}"]' not in text:
            fail(f"{image}.Dockerfile does not start {binary}")
        if "bangui-migrate" not in text:
            fail(f"{image}.Dockerfile does not ship bangui-migrate")


for overlay in OVERLAYS:
    check_overlay(overlay)
check_images()
if not OVERLAYS:
    fail("no overlays found")
if problems:
    print("k8s check FAILED:")
    for p in problems:
        print(" -", p)
    sys.exit(1)
print(f"k8s check passed: {', '.join(o.name for o in OVERLAYS)} render, validate and agree with the code")
