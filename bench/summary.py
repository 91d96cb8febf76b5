"""Every bench at a small size, one after the other, and one table of their headline figures.

    .venv/bin/python bench/summary.py [--only send,render]

`make bench` runs this. Each bench runs as its docstring says, from the repository root, with the
small-size arguments of SMALL (1.5-4 minutes for all of them on 2 shared cores); the figures of a row
are taken from the bench's last output line (its JSON). A bench that fails gets its row and the
end of its output, and the exit code is 1. Small sizes show that every bench runs and roughly
where it stands; the README's figures come from the benches' default (full) sizes.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# bench -> (its small-size arguments, [(label, path of the figure in its JSON: keys and list indexes)])
SMALL: dict[str, tuple[list[str], list[tuple[str, str]]]] = {
    "render.py": (["--recipients", "5000", "--naive-sample", "50"],
                  [("fast recipients/s", "fast_recipients_per_s"), ("us a recipient", "fast_us_per_recipient"),
                   ("fast/naive", "ratio_fast_to_naive"), ("KB a message", "message_kb_mean"),
                   ("2 experiments: rate ratio", "experiments_rate_ratio")]),
    "send.py": (["--customers", "10000", "--targets", "spool,maildir"],
                [("render/s (1 core)", "render_recipients_per_s"), ("spool/s", "spool.recipients_per_s"),
                 ("spool ratio", "spool.ratio_to_render"), ("spool CPU ratio", "spool.cpu_ratio_to_render"),
                 ("maildir/s", "maildir.recipients_per_s"),
                 ("worker RSS MB", "spool.peak_rss_worker_mb")]),
    "smtp_faults.py": (["--customers", "2000"],
                       [("clean/s", "clean.first_pass_recipients_per_s"),
                        ("451 on 10%/s", "faulty.first_pass_recipients_per_s"), ("ratio", "first_pass_ratio"),
                        ("until done ratio", "until_done_ratio"), ("deferred accounted", "deferred_accounted")]),
    "preference_pages.py": (["--duration", "5", "--customers", "500"],
                            [("GET/s", "get.requests_per_s"), ("GET p99 ms", "get.p99_ms"),
                             ("POST/s", "post.requests_per_s"), ("POST p99 ms", "post.p99_ms"), ("client", "get.client")]),
    "click_redirect.py": (["--duration", "5", "--customers", "500"],
                          [("redirects/s", "redirect.requests_per_s"), ("p99 ms", "redirect.p99_ms"), ("lost", "lost")]),
    "results.py": (["--clicks", "50000", "--customers", "5000"],
                   [("refresh s", "runs.0.refresh_s"), ("figures ms", "runs.0.figures_ms"),
                    ("page ms", "runs.0.http_page_ms")]),
    "bounces.py": (["--reports", "5000", "--customers", "5000"],
                   [("seconds", "seconds"), ("mails/s", "mails_per_second")]),
    "welcome.py": (["--customers", "20000"],
                   [("first run ms", "first_run_ms"), ("next run ms", "next_run_ms")]),
}


def figure(found, path: str):
    for part in path.split("."):
        try:
            found = found[int(part)] if isinstance(found, list) else found[part]
        except (KeyError, IndexError, ValueError, TypeError):
            return "-"
    return f"{found:,}" if isinstance(found, (int, float)) and not isinstance(found, bool) else str(found)


def run(name: str) -> tuple[str, float, str]:
    """Run one bench; (status, seconds, its headline figures)."""
    arguments, headlines = SMALL[name]
    command = [sys.executable, f"bench/{name}", *arguments]
    print(f"$ {' '.join(['.venv/bin/python', *command[1:]])}", flush=True)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    lines = done.stdout.strip().splitlines()
    try:
        found = json.loads(lines[-1]) if lines else None
    except json.JSONDecodeError:
        found = None
    if done.returncode != 0 or found is None:
        tail = (done.stdout + done.stderr).strip().splitlines()[-15:]
        print("\n".join("    " + line for line in tail), flush=True)
        return f"FAILED ({done.returncode})", seconds, ""
    return "ok", seconds, "; ".join(f"{label} {figure(found, path)}" for label, path in headlines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated bench names (default: all), e.g. send,render")
    options = parser.parse_args()
    names = list(SMALL)
    if options.only:
        wanted = [n if n.endswith(".py") else f"{n}.py" for n in options.only.split(",")]
        unknown = [n for n in wanted if n not in SMALL]
        if unknown:
            parser.error(f"--only: no bench {', '.join(unknown)} (benches: {', '.join(SMALL)})")
        names = wanted
    rows = [(name, *run(name)) for name in names]
    width = max(len(name) for name in names)
    print(f"\n{'bench':{width}}  {'status':10}  {'seconds':>7}  headline figures (small sizes; noisy on a shared machine)")
    for name, status, seconds, figures in rows:
        print(f"{name:{width}}  {status:10}  {seconds:7.1f}  {figures}")
    return 0 if all(status == "ok" for _, status, _, _ in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
