"""`python -m oncall_sync.emulator`: serve a generated account until killed (SIGINT/SIGTERM).

Prints `OPSGENIE_EMULATOR_URL=...` and `OPSGENIE_EMULATOR_KEY=...` (one line each) once it listens.
"""

from __future__ import annotations

import argparse
import sys

from oncall_sync.emulator.app import TEST_API_KEY, TEST_EU_API_KEY, EmulatorConfig, create_app
from oncall_sync.emulator.generator import SIZES, generate_account
from oncall_sync.emulator.server import ExitCleanServer, bind_socket, uvicorn_config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m oncall_sync.emulator", description=__doc__)
    parser.add_argument("--size", choices=sorted(SIZES), default="demo", help="account size")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the size's counts")
    parser.add_argument("--seed", type=int, default=7, help="generator seed")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (0: a free one)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="latency added per request")
    parser.add_argument(
        "--region", choices=["us", "eu"], default="us", help="the API region served"
    )
    parser.add_argument(
        "--rate-limit-scale", type=float, default=1.0, help="multiply the rate limits"
    )
    parser.add_argument("--no-rate-limits", action="store_true", help="switch the rate limits off")
    parser.add_argument("--no-services", action="store_true", help="a plan without the Service API")
    args = parser.parse_args(argv)

    config = EmulatorConfig(
        region=args.region,
        latency_ms=args.latency_ms,
        rate_limit_scale=args.rate_limit_scale,
        rate_limits_enabled=not args.no_rate_limits,
        services_enabled=not args.no_services,
    )
    account = generate_account(args.size, args.seed, scale=args.scale)
    app = create_app(account, config)
    sock = bind_socket(args.port, args.host)
    key = TEST_API_KEY if args.region == "us" else TEST_EU_API_KEY
    reachable = "127.0.0.1" if args.host in ("0.0.0.0", "") else args.host
    print(f"OPSGENIE_EMULATOR_URL=http://{reachable}:{sock.getsockname()[1]}", flush=True)
    print(f"OPSGENIE_EMULATOR_KEY={key}", flush=True)
    ExitCleanServer(uvicorn_config(app)).run(sockets=[sock])
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
