"""Benchmark of the preference pages under load: GET the page and POST a save, 8 connections.

Serves the real app (`service.web.app.create_app`) with one uvicorn worker on 127.0.0.1 over a
SQLite file of demo customers, then:

- GET /preferences/{token} for DURATION seconds with wrk (8 connections, a different customer
  per request) if wrk is installed, else with 8 Python client threads;
- POST /preferences/{token} for DURATION seconds from 8 connections (8 wrk threads, or 8 Python
  client threads without wrk), each saving its own customer's page again and again (a real
  change each time, CSRF cookie and token and the current version included).

wrk (Debian: apt-get install wrk) is the client to trust: Python client threads share the two
cores with the server and measure themselves as much as it.

Prints requests/s and latency percentiles, then one JSON line. Targets (issue 4), per uvicorn
worker: GET p99 <= 10 ms, POST p99 <= 20 ms, >= 2,000 GET requests/s.

    .venv/bin/python bench/preference_pages.py [--duration 30] [--customers 2000]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from html import unescape
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlmodel import Session  # noqa: E402

from preferences.customers import CustomerData  # noqa: E402
from preferences.database import make_engine, upgrade  # noqa: E402
from preferences.links import LinkSigner, Purpose  # noqa: E402
from preferences.store import create_customers  # noqa: E402

KEY = "bench-link-key-0123456789abcdef"
INPUT = re.compile(r"<input([^>]*)>")
ATTR = re.compile(r'(\w+)="([^"]*)"')
CONNECTIONS = 8


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def setup(folder: Path, customers: int) -> tuple[str, list[str]]:
    url = f"sqlite:///{folder}/bench.db"
    upgrade(url)
    engine = make_engine(url)
    with Session(engine) as session:
        create_customers(session, [CustomerData(external_id=f"B{i}", email=f"b{i}@example.com", first_name="Bea",
                                                locale="de" if i % 4 else "en") for i in range(customers)],
                         "import", default_locale="de")
        session.commit()
        ids = [row[0] for row in session.execute(__import__("sqlalchemy").text(
            "SELECT public_id FROM customer ORDER BY id"))]
    engine.dispose()
    signer = LinkSigner([KEY.encode()])
    return url, [signer.sign(public_id, Purpose.PREFERENCES) for public_id in ids]


def serve(url: str, port: int) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": url, "NEWSLETTER_LINK_KEYS": KEY,
           "NEWSLETTER_CONTENT_DIR": str(ROOT / "content"), "NEWSLETTER_BASE_URL": f"http://127.0.0.1:{port}"}
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "service.web.app:app_from_env", "--host", "127.0.0.1",
         "--port", str(port), "--workers", "1", "--log-level", "warning", "--no-access-log"],
        cwd=ROOT, env=env)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("uvicorn did not start")


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1e3  # noqa: E731
    return {"p50_ms": round(pick(0.50), 2), "p90_ms": round(pick(0.90), 2), "p99_ms": round(pick(0.99), 2),
            "max_ms": round(ordered[-1] * 1e3, 2), "mean_ms": round(statistics.mean(ordered) * 1e3, 2)}


def get_with_wrk(port: int, tokens: list[str], duration: int) -> dict:
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    script.write_text("paths = {" + ",".join(f'"/preferences/{t}"' for t in tokens) + "}\n"
                      "counter = 0\nrequest = function()\n  counter = counter + 1\n"
                      "  return wrk.format('GET', paths[(counter % #paths) + 1])\nend\n")
    out = subprocess.run(["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{duration}s", "--latency", "-s", str(script),
                          f"http://127.0.0.1:{port}"], capture_output=True, text=True, check=True).stdout
    script.unlink()
    return {"client": "wrk", **wrk_figures(out)}


def wrk_figures(out: str) -> dict:
    """Requests/s, latency percentiles and non-2xx answers from wrk's --latency output."""
    def ms(label: str) -> float:
        value, unit = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        return round(float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit], 2)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"requests_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p50_ms": ms("50%"), "p90_ms": ms("90%"), "p99_ms": ms("99%"),
            "errors": int(errors.group(1)) if errors else 0}


def run_threads(port: int, duration: float, work) -> tuple[list[float], int, int]:
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + duration

    def loop(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        state: dict = {}
        mine: list[float] = []
        bad = 0
        while time.monotonic() < deadline:
            ok, elapsed = work(conn, n, state)
            mine.append(elapsed)
            bad += not ok
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    threads = [threading.Thread(target=loop, args=(n,)) for n in range(CONNECTIONS)]
    start = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors[0], time.monotonic() - start


def get_with_threads(port: int, tokens: list[str], duration: int) -> dict:
    def work(conn, n, state):
        state["i"] = state.get("i", n) + CONNECTIONS
        started = time.perf_counter()
        conn.request("GET", f"/preferences/{tokens[state['i'] % len(tokens)]}")
        response = conn.getresponse()
        response.read()
        return response.status == 200, time.perf_counter() - started
    latencies, errors, elapsed = run_threads(port, duration, work)
    return {"client": "python threads", "requests_per_s": round(len(latencies) / elapsed, 1),
            **percentiles(latencies), "errors": errors}


def form_of(html: str) -> list[tuple[str, str]]:
    """The save form's fields as a browser would send them (checked boxes and radios only)."""
    form = html[html.index("<form"):html.index("</form>")]
    fields = []
    for raw in INPUT.findall(form):
        attrs = dict(ATTR.findall(raw))
        if "name" not in attrs or attrs.get("type") == "submit":
            continue
        if attrs.get("type") in ("radio", "checkbox") and " checked" not in raw:
            continue
        fields.append((attrs["name"], unescape(attrs.get("value", ""))))
    fields.append(("locale", "de"))
    return fields


POST_SCRIPT = """
-- One connection per wrk thread, each saving its own customer's page: the form as the browser
-- sends it, the frequency flipped each time (a real change), the version from the last answer.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end
function init(args)
  path, cookie, fields, version, flip = paths[id], cookies[id], bodies[id], versions[id], false
end
function request()
  flip = not flip
  local body = fields .. "&version=" .. version .. "&frequency=" .. (flip and "monthly" or "weekly")
  return wrk.format("POST", path, {["Content-Type"] = "application/x-www-form-urlencoded",
                                   ["Cookie"] = cookie}, body)
end
function response(status, headers, body)
  local found = string.match(body, 'name="version" value="(%d+)"')
  if found then version = found end
end
"""


def lua_list(values: list) -> str:
    return "{" + ",".join(json.dumps(str(v)) for v in values) + "}"


def post_with_wrk(port: int, tokens: list[str], duration: int) -> dict:
    """Saves from CONNECTIONS wrk threads, one customer each (the page fetched once first for
    its CSRF cookie and token, its fields and its version)."""
    paths, cookies, bodies, versions = [], [], [], []
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for token in tokens[-CONNECTIONS:]:
        conn.request("GET", f"/preferences/{token}")
        response = conn.getresponse()
        fields = form_of(response.read().decode())
        paths.append(f"/preferences/{token}")
        cookies.append(response.getheader("set-cookie", "").split(";")[0])
        versions.append(dict(fields)["version"])
        bodies.append(urlencode([(k, v) for k, v in fields if k not in ("frequency", "version")]))
    conn.close()
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    script.write_text(f"paths = {lua_list(paths)}\ncookies = {lua_list(cookies)}\nbodies = {lua_list(bodies)}\n"
                      f"versions = {lua_list(versions)}\n{POST_SCRIPT}")
    try:
        out = subprocess.run(["wrk", f"-t{CONNECTIONS}", f"-c{CONNECTIONS}", f"-d{duration}s", "--latency",
                              "-s", str(script), f"http://127.0.0.1:{port}"],
                             capture_output=True, text=True, check=True).stdout
    finally:
        script.unlink()
    return {"client": "wrk", **wrk_figures(out)}


def post_saves(port: int, tokens: list[str], duration: int) -> dict:
    def work(conn, n, state):
        path = f"/preferences/{tokens[n]}"
        if "fields" not in state:  # the page, once: CSRF cookie and token, current version
            conn.request("GET", path)
            response = conn.getresponse()
            state["cookie"] = response.getheader("set-cookie", "").split(";")[0]
            state["fields"] = form_of(response.read().decode())
        fields = [(k, v) for k, v in state["fields"] if k != "frequency"]
        state["flip"] = not state.get("flip")
        fields.append(("frequency", "monthly" if state["flip"] else "weekly"))
        started = time.perf_counter()
        conn.request("POST", path, body=urlencode(fields),
                     headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": state["cookie"]})
        response = conn.getresponse()
        body = response.read().decode()
        elapsed = time.perf_counter() - started
        if response.status == 200:
            state["fields"] = form_of(body)  # the answer page carries the new version
        return response.status == 200, elapsed
    latencies, errors, elapsed = run_threads(port, duration, work)
    return {"client": "python threads", "requests_per_s": round(len(latencies) / elapsed, 1),
            **percentiles(latencies), "errors": errors}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=30)
    parser.add_argument("--customers", type=int, default=2000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-preferences-"))
    try:
        url, tokens = setup(folder, args.customers)
        port = free_port()
        server = serve(url, port)
        try:
            wrk = shutil.which("wrk")
            get_fn = get_with_wrk if wrk else get_with_threads
            get_fn(port, tokens, 2)  # warm-up: templates compiled, content loaded
            got = get_fn(port, tokens, args.duration)
            posted = (post_with_wrk if wrk else post_saves)(port, tokens, args.duration)
        finally:
            server.terminate()
            server.wait(10)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"preference pages, 1 uvicorn worker, SQLite, {args.customers} customers, {CONNECTIONS} connections, "
          f"{args.duration} s each")
    print(f"  GET  ({got['client']}): {got['requests_per_s']:,.0f} requests/s, p50 {got['p50_ms']} ms, "
          f"p99 {got['p99_ms']} ms, errors {got['errors']}")
    print(f"  POST ({posted['client']}): {posted['requests_per_s']:,.0f} saves/s, p50 {posted['p50_ms']} ms, "
          f"p99 {posted['p99_ms']} ms, errors {posted['errors']}")
    targets = {"get_p99": got["p99_ms"] <= 10, "post_p99": posted["p99_ms"] <= 20,
               "get_rps": got["requests_per_s"] >= 2000}
    print(f"  targets: {targets}")
    print(json.dumps({"get": got, "post": posted, "targets_met": targets, "duration_s": args.duration,
                      "customers": args.customers, "connections": CONNECTIONS}))


if __name__ == "__main__":
    main()
