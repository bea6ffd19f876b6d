"""Benchmark whole processes, as a cron job or a panel runs them: start-up and one audit.

    .venv/bin/pip install -e '.[bench]'     # checkdmarc, the peer (not a dependency)
    .venv/bin/python bench/bench_startup.py [--delay 0.02] [--runs 7]

Measures, as wall time of a new process each run (median and min):

* ``mailcheck --version`` and ``python -c "import mailcheck"`` (target: under 0.1 s);
* ``mailcheck audit bench.test --format json`` against the local DNS server of
  bench/bench_audit.py (bench/dns_server_process.py, in its own process, answering after
  ``--delay`` seconds), with reverse DNS of the MX hosts but no blocklist
  (``--no-builtin-lists``: checkdmarc asks no blocklist either);
* the ``checkdmarc`` command on the same domain and server. checkdmarc only speaks to
  port 53, so it runs through a launcher that gives dnspython's ``Do53Nameserver`` the
  server's port, then calls checkdmarc's own command-line entry point (its whole code
  path: imports, every check, JSON output).

Target: the mailcheck audit process at least 5x faster than checkdmarc's. This process
is pinned to one core, the DNS server to the other (children inherit the pinning).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_audit import Server, bench_zone

BIN = Path(sys.executable).parent
CHECKDMARC_LAUNCHER = """\
import sys
import dns.nameserver

PORT = {port}
_init = dns.nameserver.Do53Nameserver.__init__


def init(self, address, port=53):
    _init(self, address, PORT if port == 53 else port)


dns.nameserver.Do53Nameserver.__init__ = init
from checkdmarc._cli import _main

sys.argv[0] = "checkdmarc"
sys.exit(_main())
"""


def timed(
    command: list[str], runs: int, *, check_json: bool = False, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Run ``command`` ``runs`` times (after one warm-up run); wall times in seconds."""
    times = []
    for i in range(runs + 1):
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
        elapsed = time.perf_counter() - start
        if done.returncode not in (0, 1) and not (check_json and done.stdout):
            raise SystemExit(f"{command[0]} failed ({done.returncode}): {done.stderr[-500:]}")
        if check_json:
            json.loads(done.stdout)  # a real answer, not an error message
        if i:  # the first run warms the OS file cache
            times.append(elapsed)
    return {
        "median_s": round(statistics.median(times), 4),
        "min_s": round(min(times), 4),
        "command": " ".join(command),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--delay", type=float, default=0.02, help="seconds per DNS answer")
    parser.add_argument("--runs", type=int, default=7, help="runs of each command")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryDirectory() as cache:
        # As installed: bytecode cached (pip compiles a wheel's modules). The warm-up run
        # of each command writes the caches, to a directory of its own so that the source
        # tree stays clean; PYTHONDONTWRITEBYTECODE would make every run compile mailcheck.
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = cache
        out = measure(args, Path(tmp), env)
    keys = ("version", "import_mailcheck", "python_bare", "imports_audit_path")
    for key in (*keys, "mailcheck_audit", "mailcheck_audit_no_bytecode_cache", "checkdmarc"):
        if out.get(key):
            print(f"{key:<34} median {out[key]['median_s']:.3f} s  min {out[key]['min_s']:.3f} s")
    if "speedup_vs_checkdmarc" in out:
        print(f"speedup vs checkdmarc: {out['speedup_vs_checkdmarc']}x (target >= 5)")
    print(json.dumps(out, indent=2))


def measure(args: argparse.Namespace, tmp: Path, env: dict[str, str]) -> dict[str, Any]:
    """Every figure, processes started with ``env``."""
    env_python = sys.executable
    out: dict[str, Any] = {"delay_ms": args.delay * 1000, "runs": args.runs}
    out["version"] = timed([str(BIN / "mailcheck"), "--version"], args.runs, env=env)
    out["import_mailcheck"] = timed([env_python, "-c", "import mailcheck"], args.runs, env=env)
    out["python_bare"] = timed([env_python, "-c", "pass"], args.runs, env=env)
    # What an audit process imports before its first question (the rest is the audit).
    imports = "import mailcheck.cli.main, mailcheck.cli.audit, mailcheck.audit, mailcheck.bulk"
    out["imports_audit_path"] = timed([env_python, "-c", imports], args.runs, env=env)
    zone = tmp / "bench.test.zone"
    zone.write_text(bench_zone())
    server = Server([zone], args.delay)
    try:
        audit = [str(BIN / "mailcheck"), "audit", "bench.test", "--selector", "mail"]
        audit += ["--nameserver", server.address, "--no-builtin-lists", "--format", "json"]
        out["mailcheck_audit"] = timed(audit, args.runs, check_json=True, env=env)
        uncached = {k: v for k, v in env.items() if k != "PYTHONPYCACHEPREFIX"}
        uncached["PYTHONDONTWRITEBYTECODE"] = "1"
        out["mailcheck_audit_no_bytecode_cache"] = timed(
            audit, args.runs, check_json=True, env=uncached
        )
        launcher = tmp / "checkdmarc_on_port.py"
        launcher.write_text(CHECKDMARC_LAUNCHER.format(port=server.port))
        try:
            import checkdmarc  # noqa: F401
        except ImportError:
            out["checkdmarc"] = None
        else:
            command = [env_python, "-W", "ignore", str(launcher), "bench.test"]
            out["checkdmarc"] = timed([*command, "-n", "127.0.0.1"], args.runs, env=env)
            out["speedup_vs_checkdmarc"] = round(
                out["checkdmarc"]["median_s"] / out["mailcheck_audit"]["median_s"], 2
            )
    finally:
        server.stop()
    return out


if __name__ == "__main__":
    main()
