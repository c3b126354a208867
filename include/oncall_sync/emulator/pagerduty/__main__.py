"""`python -m oncall_sync.emulator.pagerduty`: serve a generated PagerDuty account until killed.

Prints `PAGERDUTY_EMULATOR_URL=...`, `PAGERDUTY_EMULATOR_KEY=...` (the account key of the
account's region) and the other test credentials, one per line, once it listens.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from oncall_sync.emulator.pagerduty.app import create_app
from oncall_sync.emulator.pagerduty.calls import (
    TEST_OAUTH_TOKEN,
    TEST_READ_ONLY_API_KEY,
    TEST_USER_API_KEY,
    PagerDutyConfig,
    key_for_region,
)
from oncall_sync.emulator.pagerduty.generator import DEFAULT_NOW, SIZES, generate_account
from oncall_sync.emulator.pagerduty.render import DST_RULES
from oncall_sync.emulator.server import ExitCleanServer, bind_socket, uvicorn_config


def _instant(text: str) -> datetime:
    if text == "wall-clock":
        return datetime.now(UTC)
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m oncall_sync.emulator.pagerduty", description=__doc__
    )
    parser.add_argument("--size", choices=sorted(SIZES), default="demo", help="account size")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the size's counts")
    parser.add_argument("--seed", type=int, default=7, help="generator seed")
    parser.add_argument(
        "--now",
        type=_instant,
        default=DEFAULT_NOW,
        help=f"the account's now, ISO 8601 or 'wall-clock' (default {DEFAULT_NOW.isoformat()})",
    )
    parser.add_argument("--region", choices=["us", "eu"], default="us", help="service region")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (0: a free one)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="latency added per request")
    parser.add_argument(
        "--rate-limit-scale", type=float, default=1.0, help="multiply the rate limits"
    )
    parser.add_argument("--no-rate-limits", action="store_true", help="switch the rate limits off")
    parser.add_argument(
        "--dst-rule", choices=DST_RULES, default="wall_clock_days", help="the rendering's DST rule"
    )
    args = parser.parse_args(argv)

    config = PagerDutyConfig(
        latency_ms=args.latency_ms,
        rate_limit_scale=args.rate_limit_scale,
        rate_limits_enabled=not args.no_rate_limits,
        dst_rule=args.dst_rule,
    )
    account = generate_account(
        args.size, args.seed, scale=args.scale, now=args.now, region=args.region
    )
    app = create_app(account, config)
    sock = bind_socket(args.port, args.host)
    reachable = "127.0.0.1" if args.host in ("0.0.0.0", "") else args.host
    print(f"PAGERDUTY_EMULATOR_URL=http://{reachable}:{sock.getsockname()[1]}", flush=True)
    print(f"PAGERDUTY_EMULATOR_KEY={key_for_region(account.region)}", flush=True)
    print(f"PAGERDUTY_EMULATOR_READ_ONLY_KEY={TEST_READ_ONLY_API_KEY}", flush=True)
    print(f"PAGERDUTY_EMULATOR_USER_KEY={TEST_USER_API_KEY}", flush=True)
    print(f"PAGERDUTY_EMULATOR_OAUTH_TOKEN={TEST_OAUTH_TOKEN}", flush=True)
    print(f"PAGERDUTY_EMULATOR_REGION={account.region}", flush=True)
    ExitCleanServer(uvicorn_config(app)).run(sockets=[sock])
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
