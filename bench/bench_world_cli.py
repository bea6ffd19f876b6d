"""The provider world through the real command line: ``mailcheck send`` (its own process,
``--time-scale``) against aiosmtpd servers that play the providers of ``draw_world(seed)``
(``bench/world_servers.py``, another process, the same time scale). A newsletter of
``--messages`` recipients is written to a Maildir and sent with the built-in provider
dataset; simulated hours take real minutes.

    python bench/bench_world_cli.py --seed 1 --messages 1000 --speed 60

It prints the CLI's exit code and summary, the simulated time to the last delivery, what
each provider saw (accepted, silently dropped, throttling replies, blocks) and the optimum
(every provider at exactly its hidden rate).
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mailcheck.sending.simulation.run import zone_text

PROVIDERS = """# The bench's servers offer no STARTTLS: TLS stays opportunistic here.
[provider.google]
tls = "opportunistic"
[provider.orange]
tls = "opportunistic"
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--speed", type=float, default=60.0)
    parser.add_argument("--max-hours", type=float, default=6.0)
    args = parser.parse_args()
    here = Path(__file__).parent
    servers = subprocess.Popen(
        [sys.executable, str(here / "world_servers.py"), "--seed", str(args.seed),
         "--speed", str(args.speed)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert servers.stdin is not None
    assert servers.stdout is not None
    world = json.loads(servers.stdout.readline())
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            code, summary, real = _send(work, world, args)
    finally:
        servers.stdin.write("stop\n")
        servers.stdin.flush()
        seen = json.loads(servers.stdout.readline())
        servers.wait(timeout=30)
    simulated = real * args.speed
    counts: dict[str, int] = summary.get("counts", {})
    print(f"mailcheck send exit {code}; {real:.0f} s real = {simulated / 3600:.2f} h simulated")
    print(
        f"summary: {json.dumps(summary.get('spool') or summary.get('this_run') or summary)[:400]}"
    )
    optimum = 0.0
    for name, p in seen.items():
        print(f"  {name:10} hidden {p['hidden_rate_per_hour']:7.0f}/h  accepted {p['accepted']:5d}"
              f"  dropped {p['dropped']}  throttled {p['throttled']}  blocks {p['blocks']}"
              f"  refused connections {p['connections_refused']}")  # fmt: skip
    for name, n in _per_provider(world, args).items():
        rate = seen[name]["hidden_rate_per_hour"] / 3600
        optimum = max(optimum, n / rate)
    print(f"optimum {optimum / 3600:.2f} h; counts {counts}")
    return 0


def _per_provider(world: dict, args: argparse.Namespace) -> dict[str, int]:  # type: ignore[type-arg]
    host_to_name = {
        "gmail-smtp-in.l.google.com": "google",
        "hotmail-com.olc.protection.outlook.com": "microsoft",
        "mta5.am0.yahoodns.net": "yahoo",
        "smtp-in.orange.fr": "orange",
        "mx1.free.fr": "free",
        "mx.coop-host.example": "coop",
    }
    counts: dict[str, int] = {}
    for domain in _recipients(world, args):
        name = host_to_name[world["domains"][domain][0]]
        counts[name] = counts.get(name, 0) + 1
    return counts


def _recipients(world: dict, args: argparse.Namespace) -> list[str]:  # type: ignore[type-arg]
    rng = random.Random(args.seed + 1)
    names = list(world["domains"])
    weights = [share for _, share in world["domains"].values()]
    return rng.choices(names, weights, k=args.messages)


def _send(work: Path, world: dict, args: argparse.Namespace) -> tuple[int, dict, float]:  # type: ignore[type-arg]
    maildir = work / "outbox"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    for i, domain in enumerate(_recipients(world, args)):
        (maildir / "new" / f"{i}.eml").write_text(
            f"From: Asso <news@asso.example>\r\nTo: member{i}@{domain}\r\n"
            f"Subject: Lettre\r\nMessage-ID: <n{i}@asso.example>\r\n\r\nBonjour !\r\n"
        )
    zones = []
    for domain, (host, _) in world["domains"].items():
        zone = work / f"{domain}.zone"
        zone.write_text(zone_text(domain, host))
        zones += ["--zone", str(zone)]
    overrides = []
    for host, port in world["ports"].items():
        overrides += ["--mx-override", f"{host}=127.0.0.1:{port}"]
    providers = work / "providers.toml"
    providers.write_text(PROVIDERS)
    command = [
        sys.executable, "-m", "mailcheck.cli.main", "send", "--maildir", str(maildir),
        "--from", "news@asso.example", "--spool", str(work / "spool"), *zones, *overrides,
        "--providers", str(providers), "--time-scale", str(args.speed), "--format", "json",
        "--max-time", f"{args.max_hours}h", "--helo", "mail.asso.example",
    ]  # fmt: skip
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    real = time.monotonic() - started
    try:
        summary = json.loads(done.stdout)
    except json.JSONDecodeError:
        summary = {"stdout": done.stdout[-500:], "stderr": done.stderr[-1000:]}
    return done.returncode, summary, real


if __name__ == "__main__":
    sys.exit(main())
