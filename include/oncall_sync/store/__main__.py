"""Store commands: `migrate` brings the schema up to date; `oncall` says who is on call.

python -m oncall_sync.store migrate [--url URL]
python -m oncall_sync.store oncall --schedule NAME [--at ISO] [--url URL]
python -m oncall_sync.store detach ENTITY_TYPE STORE_ID [--url URL]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

from oncall_sync.model import EntityType
from oncall_sync.store.config import make_engine
from oncall_sync.store.migrate import current_revision, migrate
from oncall_sync.store.repo import detach, read_schedules_named


def _instant(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.utcoffset() is None:
        raise argparse.ArgumentTypeError(f"{text!r} needs a zone offset, e.g. {text}+00:00")
    return value


def _migrate(args: argparse.Namespace) -> int:
    engine = make_engine(args.url)
    before = current_revision(engine)
    after = migrate(engine)
    url = engine.url.render_as_string(hide_password=True)
    print(f"store {url}: {before or 'empty'} -> {after}")
    return 0


def _oncall(args: argparse.Namespace) -> int:
    from oncall_sync.oncall import on_call_at  # written beside the store; imported when used

    engine = make_engine(args.url)
    with engine.connect() as conn:
        schedules = read_schedules_named(conn, args.schedule)
    if not schedules:
        print(f"no schedule named {args.schedule!r} in the store", file=sys.stderr)
        return 1
    at = args.at or datetime.now(UTC)
    for schedule in schedules:
        participants = on_call_at(schedule, at)
        print(f"{schedule.name} ({schedule.source_id}, {schedule.time_zone}) at {at.isoformat()}:")
        if not participants:
            print("  nobody")
        for p in participants:
            print(f"  {p.member_type}: {p.ref_name or ''} ({p.ref_source_id})")
    return 0


def _detach(args: argparse.Namespace) -> int:
    engine = make_engine(args.url)
    if not detach(engine, EntityType(args.entity_type), args.store_id):
        print(f"no {args.entity_type} with id {args.store_id} in the store", file=sys.stderr)
        return 1
    print(f"{args.entity_type} {args.store_id} is now managed locally: the sync leaves it alone")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m oncall_sync.store", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    url_help = "store URL (default: $ONCALL_SYNC_STORE_URL, connection oncall_store, var/*.db)"

    migrate_cmd = commands.add_parser("migrate", help="upgrade the store schema to the newest")
    migrate_cmd.add_argument("--url", help=url_help)
    migrate_cmd.set_defaults(run=_migrate)

    oncall_cmd = commands.add_parser("oncall", help="who is on call for a schedule")
    oncall_cmd.add_argument("--schedule", required=True, help="the schedule's name")
    oncall_cmd.add_argument("--at", type=_instant, help="an ISO instant with offset (default now)")
    oncall_cmd.add_argument("--url", help=url_help)
    oncall_cmd.set_defaults(run=_oncall)

    detach_cmd = commands.add_parser(
        "detach", help="manage a synced object locally from now on (the sync leaves it alone)"
    )
    detach_cmd.add_argument("entity_type", choices=[kind.value for kind in EntityType])
    detach_cmd.add_argument("store_id", type=int, help="the row's id in its table")
    detach_cmd.add_argument("--url", help=url_help)
    detach_cmd.set_defaults(run=_detach)

    args = parser.parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
