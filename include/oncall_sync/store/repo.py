"""Reading the store back into canonical records, and applying a plan to it in one transaction.

Reads take one query per table. Writes are set-based (multi-row INSERT ... ON CONFLICT on the
natural key), under a store-wide lock, all or nothing; an unchanged entity costs no write.
"""

from __future__ import annotations

import hashlib
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from typing import Any, NamedTuple

from pydantic import AwareDatetime, BaseModel, ConfigDict
from sqlalchemy import (
    JSON,
    Column,
    Connection,
    Engine,
    MetaData,
    Row,
    Table,
    and_,
    bindparam,
    delete,
    func,
    null,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.sql.elements import ColumnElement

from oncall_sync.model import (
    Action,
    EntityType,
    OnCallConfig,
    Plan,
    PlannedChange,
    Schedule,
    TimeWindow,
    config_from_records,
    normalise_email,
    record_hash,
)
from oncall_sync.store import config as store_config
from oncall_sync.store import schema as s

_CHUNK = 900  # ids per IN list: well under SQLite's bound-parameter limit
LOCK_KEY = int.from_bytes(
    hashlib.sha256(b"oncall_sync.store.load").digest()[:8], "big", signed=True
)


class StoreWriteError(RuntimeError):
    """A plan cannot be applied as it stands; nothing was written."""


# --- what the planner reads ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """One synced row as the store holds it now, rebuilt into its canonical record."""

    store_id: int
    name: str
    data: dict[str, Any]
    source_hash: str | None
    applied_hash: str | None
    current_hash: str
    local_modified: bool  # the stored flag, or the row differs from what the sync last wrote
    managed: str
    source_deleted_at: datetime | None

    @property
    def detached(self) -> bool:
        return self.managed == s.MANAGED_DETACHED

    @property
    def tombstoned(self) -> bool:
        return self.source_deleted_at is not None


@dataclass(frozen=True)
class StoreState:
    """Everything the store holds for one source account, per entity type, by source id."""

    source_system: str
    source_account: str
    records: dict[EntityType, dict[str, StoredRecord]] = field(default_factory=dict)

    def __getitem__(self, kind: EntityType) -> dict[str, StoredRecord]:
        return self.records.get(kind, {})

    def count(self) -> int:
        return sum(len(rows) for rows in self.records.values())


class StoreRef(NamedTuple):
    """A store row and where it came from (all None for a row created locally)."""

    store_id: int
    source_system: str | None
    source_account: str | None
    source_id: str | None
    time_zone: str | None = None  # people and schedules: their zone, to spot a zone mismatch


PersonRow = StoreRef


# --- record <-> columns ----------------------------------------------------------------------


def _instant_out(value: datetime | None) -> str | None:
    """An instant as the canonical model's JSON dump spells a UTC datetime."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _instant_in(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _time_out(value: time) -> str:
    return value.isoformat()


@dataclass(frozen=True)
class _Entity:
    """How one entity type's record maps onto its table's columns."""

    kind: EntityType
    table: Table
    plain: tuple[tuple[str, str], ...]  # (record key, column) copied as they are
    instants: tuple[str, ...] = ()  # record keys held as UTC instants (same column name)
    refs: tuple[tuple[str, str, EntityType], ...] = ()  # (fk column, source-id column, target)
    name_of: Callable[[dict[str, Any]], str] = lambda d: str(d.get("name", ""))

    def to_row(self, data: dict[str, Any]) -> dict[str, Any]:
        row = {column: data[key] for key, column in self.plain}
        for key in self.instants:
            row[key] = _instant_in(data[key])
        return row

    def from_row(self, row: Any) -> dict[str, Any]:
        data = {key: row[column] for key, column in self.plain}
        for key in self.instants:
            data[key] = _instant_out(row[key])
        return data


def _same(*names: str) -> tuple[tuple[str, str], ...]:
    return tuple((n, n) for n in names)


_ENTITIES: dict[EntityType, _Entity] = {
    e.kind: e
    for e in (
        _Entity(
            EntityType.PERSON,
            s.person,
            (
                ("source_id", "source_id"),
                ("email", "email_norm"),
                *_same(
                    "email_raw",
                    "display_name",
                    "time_zone",
                    "time_zone_raw",
                    "locale",
                    "role",
                    "blocked",
                    "verified",
                ),
            ),
            name_of=lambda d: str(d["email"]),
        ),
        _Entity(
            EntityType.TEAM,
            s.team,
            _same("source_id", "name", "description"),
        ),
        _Entity(
            EntityType.TEAM_MEMBER,
            s.team_member,
            _same("team_source_id", "person_source_id", "role"),
            refs=(
                ("team_id", "team_source_id", EntityType.TEAM),
                ("person_id", "person_source_id", EntityType.PERSON),
            ),
            name_of=lambda d: f"{d['team_source_id']}:{d['person_source_id']}",
        ),
        _Entity(
            EntityType.CONTACT_METHOD,
            s.contact_method,
            _same(
                "source_id",
                "person_source_id",
                "kind",
                "address",
                "enabled",
                "disabled_reason",
                "position",
            ),
            refs=(("person_id", "person_source_id", EntityType.PERSON),),
            name_of=lambda d: f"{d['kind']}:{d['address']}",
        ),
        _Entity(
            EntityType.SCHEDULE,
            s.schedule,
            _same(
                "source_id",
                "name",
                "description",
                "time_zone",
                "time_zone_raw",
                "enabled",
                "owner_team_source_id",
            ),
            refs=(("owner_team_id", "owner_team_source_id", EntityType.TEAM),),
        ),
        _Entity(
            EntityType.ESCALATION_POLICY,
            s.escalation_policy,
            _same("source_id", "name", "description", "owner_team_source_id"),
            refs=(("owner_team_id", "owner_team_source_id", EntityType.TEAM),),
        ),
        _Entity(
            EntityType.ROTATION,
            s.rotation,
            _same(
                "source_id",
                "schedule_source_id",
                "position",
                "name",
                "turn_unit",
                "turn_count",
                "enabled",
            ),
            instants=("anchor_at", "ends_at"),
            refs=(("schedule_id", "schedule_source_id", EntityType.SCHEDULE),),
        ),
        _Entity(
            EntityType.OVERRIDE,
            s.schedule_override,
            _same("source_id", "schedule_source_id", "alias"),
            instants=("starts_at", "ends_at"),
            refs=(("schedule_id", "schedule_source_id", EntityType.SCHEDULE),),
            name_of=lambda d: str(d["alias"]),
        ),
        _Entity(
            EntityType.SERVICE,
            s.service,
            _same("source_id", "name", "description", "owner_team_source_id"),
            refs=(("owner_team_id", "owner_team_source_id", EntityType.TEAM),),
        ),
    )
}

# The order a load writes parents in: each table's references are written before it.
# Escalation policies come before rotations and overrides (their rows refer only to teams),
# so an escalation participant resolves in the same load.
WRITE_ORDER: tuple[EntityType, ...] = (
    EntityType.PERSON,
    EntityType.TEAM,
    EntityType.TEAM_MEMBER,
    EntityType.CONTACT_METHOD,
    EntityType.SCHEDULE,
    EntityType.ESCALATION_POLICY,
    EntityType.ROTATION,
    EntityType.OVERRIDE,
    EntityType.SERVICE,
)

# Participant and target references: which table a reference of each type points at.
_PARTICIPANT_TARGET = {
    "user": ("person_id", EntityType.PERSON),
    "team": ("team_id", EntityType.TEAM),
    "escalation": ("escalation_policy_id", EntityType.ESCALATION_POLICY),
}
_PARTICIPANT_COLUMNS = tuple(column for column, _ in _PARTICIPANT_TARGET.values())
_TARGET_TARGET = {
    "user": ("person_id", EntityType.PERSON),
    "team": ("team_id", EntityType.TEAM),
    "schedule": ("schedule_id", EntityType.SCHEDULE),
}


def _entity_row(kind: EntityType, data: dict[str, Any]) -> dict[str, Any]:
    """The parent row's own columns for a record (children and references come separately)."""
    row = _ENTITIES[kind].to_row(data)
    if kind is EntityType.OVERRIDE:
        participant = data["participant"]
        row |= {
            "member_type": participant["member_type"],
            "ref_source_id": participant["ref_source_id"],
            "ref_name": participant["ref_name"],
        }
    elif kind is EntityType.ESCALATION_POLICY:
        repeat = data.get("repeat")
        row |= {
            "has_repeat": repeat is not None,
            "repeat_count": repeat and repeat["count"],
            "repeat_wait_minutes": repeat and repeat["wait_minutes"],
            "repeat_reset_recipients": repeat and repeat["reset_recipients"],
            "repeat_close_after_all": repeat and repeat["close_after_all"],
        }
    elif kind is EntityType.SERVICE:
        row["tags"] = list(data["tags"])
    return row


def _record_from_row(kind: EntityType, row: Any, children: _Children) -> dict[str, Any]:
    """A canonical record (the JSON dump entity_records makes) rebuilt from columns and children."""
    data = _ENTITIES[kind].from_row(row)
    store_id = row["id"]
    if kind is EntityType.ROTATION:
        data["members"] = [
            {key: m[key] for key in ("member_type", "ref_source_id", "ref_name")}
            for m in children.members.get(store_id, ())
        ]
        data["windows"] = [
            {
                "kind": w["kind"],
                "start_weekday": w["start_weekday"],
                "start_time": _time_out(w["start_time"]),
                "end_weekday": w["end_weekday"],
                "end_time": _time_out(w["end_time"]),
            }
            for w in children.windows.get(store_id, ())
        ]
    elif kind is EntityType.OVERRIDE:
        data["participant"] = {
            "member_type": row["member_type"],
            "ref_source_id": row["ref_source_id"],
            "ref_name": row["ref_name"],
        }
        data["rotation_source_ids"] = [
            r["rotation_source_id"] for r in children.override_rotations.get(store_id, ())
        ]
    elif kind is EntityType.ESCALATION_POLICY:
        data["levels"] = [
            {
                "position": lvl["position"],
                "condition": lvl["condition"],
                "offset_seconds": lvl["offset_seconds"],
                "timeout_seconds": lvl["timeout_seconds"],
                "targets": [
                    {
                        "target_type": t["target_type"],
                        "ref_source_id": t["ref_source_id"],
                        "ref_name": t["ref_name"],
                        "schedule_pick": t["schedule_pick"],
                        "team_audience": t["team_audience"],
                    }
                    for t in children.targets.get(lvl["id"], ())
                ],
            }
            for lvl in children.levels.get(store_id, ())
        ]
        data["repeat"] = (
            {
                "count": row["repeat_count"],
                "wait_minutes": row["repeat_wait_minutes"],
                "reset_recipients": row["repeat_reset_recipients"],
                "close_after_all": row["repeat_close_after_all"],
            }
            if row["has_repeat"]
            else None
        )
    elif kind is EntityType.SERVICE:
        data["tags"] = list(row["tags"] or [])
    return data


def store_form(kind: EntityType, data: dict[str, Any]) -> dict[str, Any]:
    """A record as the store will give it back (instants in UTC): what applied_hash is taken of."""
    return _record_from_row(kind, _FakeRow(data, kind), _Children.of_record(kind, data))


class _FakeRow(dict[str, Any]):
    """Columns for one record, built in memory, so store_form shares the read path's code."""

    def __init__(self, data: dict[str, Any], kind: EntityType) -> None:
        super().__init__(_entity_row(kind, data))
        self["id"] = 0


# --- reading ---------------------------------------------------------------------------------


@dataclass
class _Children:
    """Child rows grouped by parent id, in their stored order."""

    members: dict[int, list[Any]] = field(default_factory=dict)
    windows: dict[int, list[Any]] = field(default_factory=dict)
    override_rotations: dict[int, list[Any]] = field(default_factory=dict)
    levels: dict[int, list[Any]] = field(default_factory=dict)
    targets: dict[int, list[Any]] = field(default_factory=dict)

    @classmethod
    def of_record(cls, kind: EntityType, data: dict[str, Any]) -> _Children:
        children = cls()
        if kind is EntityType.ROTATION:
            children.members[0] = list(data["members"])
            children.windows[0] = [
                {
                    **w,
                    "start_time": time.fromisoformat(w["start_time"]),
                    "end_time": time.fromisoformat(w["end_time"]),
                }
                for w in data["windows"]
            ]
        elif kind is EntityType.OVERRIDE:
            children.override_rotations[0] = [
                {"rotation_source_id": r} for r in data["rotation_source_ids"]
            ]
        elif kind is EntityType.ESCALATION_POLICY:
            children.levels[0] = [{**lvl, "id": i} for i, lvl in enumerate(data["levels"])]
            children.targets = {i: list(lvl["targets"]) for i, lvl in enumerate(data["levels"])}
        return children


def _of_account(table: Table, source_system: str, source_account: str) -> ColumnElement[bool]:
    return and_(table.c.source_system == source_system, table.c.source_account == source_account)


# Bookkeeping columns that no record is rebuilt from: not fetched (and not converted) on reads.
_NOT_READ = frozenset(
    {
        "source_system",
        "source_account",
        "last_synced_at",
        "last_sync_run_id",
        "local_modified_at",
        "created_at",
        "updated_at",
        "person_id",
        "team_id",
        "schedule_id",
        "escalation_policy_id",
        "owner_team_id",
        "rotation_id",
    }
)


def _read_columns(table: Table, keep: str = "") -> list[Any]:
    return [c for c in table.c if c.name == keep or c.name not in _NOT_READ]


def _group(rows: Iterable[Any], key: str) -> dict[int, list[Any]]:
    grouped: dict[int, list[Any]] = {}
    for row in rows:
        grouped.setdefault(row[key], []).append(row)
    return grouped


def _read_children(
    conn: Connection,
    parents: Callable[[Table], ColumnElement[bool]],
    *,
    escalation: bool = True,
) -> _Children:
    """Child rows of the parents that `parents(table)` selects, one query per child table."""

    def rows(child: Table, parent: Table, fk: str, order: str) -> dict[int, list[Any]]:
        query = (
            select(*_read_columns(child, keep=fk))
            .join(parent, child.c[fk] == parent.c.id)
            .where(parents(parent))
            .order_by(child.c[fk], child.c[order])
        )
        return _group((r._mapping for r in conn.execute(query)), fk)

    children = _Children(
        members=rows(s.rotation_member, s.rotation, "rotation_id", "position"),
        windows=rows(s.rotation_window, s.rotation, "rotation_id", "ordinal"),
        override_rotations=rows(
            s.schedule_override_rotation, s.schedule_override, "override_id", "ordinal"
        ),
    )
    if escalation:
        children.levels = rows(s.escalation_level, s.escalation_policy, "policy_id", "ordinal")
        target_query = (
            select(*_read_columns(s.escalation_target))
            .join(s.escalation_level, s.escalation_target.c.level_id == s.escalation_level.c.id)
            .join(s.escalation_policy, s.escalation_level.c.policy_id == s.escalation_policy.c.id)
            .where(parents(s.escalation_policy))
            .order_by(s.escalation_target.c.level_id, s.escalation_target.c.ordinal)
        )
        children.targets = _group((r._mapping for r in conn.execute(target_query)), "level_id")
    return children


def read_state(conn: Connection, source_system: str, source_account: str) -> StoreState:
    """The store's rows for one source account (tombstoned and detached ones too), rebuilt into
    canonical records, with what the planner needs to tell source changes from local edits."""
    children = _read_children(conn, lambda t: _of_account(t, source_system, source_account))
    records: dict[EntityType, dict[str, StoredRecord]] = {}
    for kind in WRITE_ORDER:
        entity = _ENTITIES[kind]
        query = (
            select(*_read_columns(entity.table))
            .where(_of_account(entity.table, source_system, source_account))
            .order_by(entity.table.c.id)
        )
        by_source_id: dict[str, StoredRecord] = {}
        for result_row in conn.execute(query):
            row = result_row._mapping
            data = _record_from_row(kind, row, children)
            current = record_hash(data)
            by_source_id[row["source_id"]] = StoredRecord(
                store_id=row["id"],
                name=entity.name_of(data),
                data=data,
                source_hash=row["source_hash"],
                applied_hash=row["applied_hash"],
                current_hash=current,
                local_modified=bool(row["local_modified"]) or current != row["applied_hash"],
                managed=row["managed"],
                source_deleted_at=row["source_deleted_at"],
            )
        records[kind] = by_source_id
    return StoreState(source_system, source_account, records)


def read_config(conn: Connection, source_system: str, source_account: str) -> OnCallConfig:
    """The account's live (not tombstoned) configuration as the store holds it."""
    state = read_state(conn, source_system, source_account)
    records = {
        kind: [r.data for r in rows.values() if not r.tombstoned]
        for kind, rows in state.records.items()
    }
    return config_from_records(source_system, source_account, records)


def read_schedules_named(conn: Connection, name: str) -> list[Schedule]:
    """Live schedules of that name, any origin, each with its live rotations and overrides.

    A row created locally has no source id; it is given "store:<table>:<id>" so the canonical
    model can hold it.
    """
    sched, rot, ovr = s.schedule, s.rotation, s.schedule_override
    ids = [
        i
        for (i,) in conn.execute(
            select(sched.c.id)
            .where(sched.c.name == name, sched.c.source_deleted_at.is_(None))
            .order_by(sched.c.id)
        )
    ]
    if not ids:
        return []

    def live_children(parent: Table) -> ColumnElement[bool]:
        return and_(parent.c.schedule_id.in_(ids), parent.c.source_deleted_at.is_(None))

    children = _read_children(conn, live_children, escalation=False)

    def records(kind: EntityType, table: Table, where: ColumnElement[bool]) -> list[Any]:
        out: list[tuple[dict[str, Any], dict[str, Any]]] = []
        for result_row in conn.execute(select(table).where(where).order_by(table.c.id)):
            row = _with_store_source_ids(result_row._mapping, table)
            out.append((row, _record_from_row(kind, row, children)))
        return out

    schedules = records(EntityType.SCHEDULE, sched, sched.c.id.in_(ids))
    rotations = records(EntityType.ROTATION, rot, live_children(rot))
    overrides = records(EntityType.OVERRIDE, ovr, live_children(ovr))
    out: list[Schedule] = []
    for row, data in schedules:
        rotation_data = [d for r, d in rotations if r["schedule_id"] == row["id"]]
        override_data = [d for r, d in overrides if r["schedule_id"] == row["id"]]
        for d in rotation_data + override_data:
            d["schedule_source_id"] = data["source_id"]
        config = config_from_records(
            "store",
            "store",
            {
                EntityType.SCHEDULE: [data],
                EntityType.ROTATION: rotation_data,
                EntityType.OVERRIDE: override_data,
            },
        )
        out.extend(config.schedules)
    return out


def _with_store_source_ids(row: Any, table: Table) -> dict[str, Any]:
    """A row whose source id is filled in when it was created locally."""
    filled = dict(row)
    if filled.get("source_id") is None:
        filled["source_id"] = f"store:{table.name}:{row['id']}"
    return filled


def find_people_by_email(conn: Connection, emails: Iterable[str]) -> dict[str, StoreRef]:
    """Store people by normalised email, whatever their source (local people included)."""
    wanted = sorted({normalise_email(e) for e in emails})
    found: dict[str, StoreRef] = {}
    t = s.person
    for chunk in _chunks(wanted):
        query = select(
            t.c.email_norm,
            t.c.id,
            t.c.source_system,
            t.c.source_account,
            t.c.source_id,
            t.c.time_zone,
        ).where(t.c.email_norm.in_(chunk))
        for email, *ref in conn.execute(query):
            found[email] = StoreRef(*ref)
    return found


def find_by_name(
    conn: Connection, entity_type: EntityType, names: Iterable[str]
) -> dict[str, list[StoreRef]]:
    """Store rows of a type by name, any source: to spot name collisions with other origins."""
    tables = {
        EntityType.TEAM: s.team,
        EntityType.SCHEDULE: s.schedule,
        EntityType.ESCALATION_POLICY: s.escalation_policy,
        EntityType.SERVICE: s.service,
    }
    if entity_type not in tables:
        raise ValueError(f"{entity_type} rows have no name to look up")
    t = tables[entity_type]
    zone = t.c.time_zone if "time_zone" in t.c else null()
    found: dict[str, list[StoreRef]] = {}
    for chunk in _chunks(sorted(set(names))):
        query = (
            select(t.c.name, t.c.id, t.c.source_system, t.c.source_account, t.c.source_id, zone)
            .where(t.c.name.in_(chunk))
            .order_by(t.c.id)
        )
        for name, *ref in conn.execute(query):
            found.setdefault(name, []).append(StoreRef(*ref))
    return found


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- writing ---------------------------------------------------------------------------------


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """One transaction holding the store-wide load lock: two loads never interleave.

    PostgreSQL: pg_advisory_xact_lock on a fixed key, released at commit or rollback; readers
    are not blocked. SQLite: BEGIN IMMEDIATE takes the database's write lock up front (readers
    go on under WAL); a second writer waits up to the busy timeout. The lock is store-wide, not
    per account, because people are matched by email across accounts.
    """
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.execution_options(sqlite_begin="IMMEDIATE")
        with conn.begin():
            if conn.dialect.name == "postgresql":
                conn.execute(select(func.pg_advisory_xact_lock(LOCK_KEY)))
            yield conn


class _Existing(NamedTuple):
    """A row of this source account already in the store."""

    store_id: int
    managed: str


def _insert_many(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert many rows at once: COPY on PostgreSQL, executemany on SQLite."""
    if conn.dialect.name == "postgresql":
        _copy(conn, table.name, table, rows)
    else:
        conn.execute(table.insert(), rows)


def _upsert(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """INSERT ... ON CONFLICT (natural key) DO UPDATE for many rows, sparing detached rows.

    PostgreSQL: the rows are COPYed into a temporary table first and upserted with one
    INSERT ... SELECT; row-by-row statements cost a parse and a round trip each (measured on the
    large account: 4.5 s against under 1 s). SQLite: executemany of the upsert, in-process.
    """
    columns = list(rows[0])
    keep = {"id", "created_at", "source_system", "source_account", "source_id", "managed"}
    conflict = [table.c.source_system, table.c.source_account, table.c.source_id]
    if conn.dialect.name != "postgresql":
        stmt = sqlite.insert(table)
        stmt = stmt.on_conflict_do_update(
            index_elements=conflict,
            set_={c: stmt.excluded[c] for c in columns if c not in keep},
            where=table.c.managed == s.MANAGED_SYNCED,
        )
        conn.execute(stmt, rows)
        return
    staging = Table(
        f"_load_{table.name}", MetaData(), *(Column(c, table.c[c].type) for c in columns)
    )
    column_list = ", ".join(f'"{c}"' for c in columns)
    conn.exec_driver_sql(
        f'CREATE TEMPORARY TABLE "{staging.name}" ON COMMIT DROP AS '
        f'SELECT {column_list} FROM "{table.name}" WITH NO DATA'
    )
    _copy(conn, staging.name, table, rows)
    pg_stmt = postgresql.insert(table).from_select(columns, select(staging))
    pg_stmt = pg_stmt.on_conflict_do_update(
        index_elements=conflict,
        set_={c: pg_stmt.excluded[c] for c in columns if c not in keep},
        where=table.c.managed == s.MANAGED_SYNCED,
    )
    conn.execute(pg_stmt)
    conn.exec_driver_sql(f'DROP TABLE "{staging.name}"')


def _copy(conn: Connection, target: str, table: Table, rows: list[dict[str, Any]]) -> None:
    """COPY rows into `target` (shaped like `table`) over the load's own connection."""
    from psycopg.types.json import Jsonb  # PostgreSQL only

    columns = list(rows[0])
    json_columns = {c for c in columns if isinstance(table.c[c].type, JSON)}
    column_list = ", ".join(f'"{c}"' for c in columns)
    driver_connection: Any = conn.connection.driver_connection
    with (
        driver_connection.cursor() as cursor,
        cursor.copy(f'COPY "{target}" ({column_list}) FROM STDIN') as copy,
    ):
        for row in rows:
            copy.write_row(
                [
                    Jsonb(row[c]) if c in json_columns and row[c] is not None else row[c]
                    for c in columns
                ]
            )


class _Load:
    """One plan applied on one connection; each step is a set-based statement per table."""

    def __init__(self, conn: Connection, plan: Plan, now: datetime) -> None:
        self.conn = conn
        self.plan = plan
        self.now = now
        self.written: Counter[str] = Counter()
        self.ids: dict[EntityType, dict[str, _Existing]] = {}
        self.items: list[dict[str, Any]] = []
        # parents whose children are (re)written: kind -> [(store id, record, existed before)]
        self.rewritten: dict[EntityType, list[tuple[int, dict[str, Any], bool]]] = {}

    # identities ---------------------------------------------------------------------------

    def _load_ids(self, kind: EntityType) -> dict[str, _Existing]:
        table = _ENTITIES[kind].table
        query = select(table.c.source_id, table.c.id, table.c.managed).where(
            _of_account(table, self.plan.source_system, self.plan.source_account)
        )
        rows = self.conn.execute(query).all()
        self.ids[kind] = {sid: _Existing(i, m) for sid, i, m in rows}
        return self.ids[kind]

    def _id_of(self, kind: EntityType, source_id: str | None) -> int | None:
        if source_id is None:
            return None
        ids = self.ids[kind] if kind in self.ids else self._load_ids(kind)
        found = ids.get(source_id)
        return found.store_id if found else None

    def _participant_refs(self, member_type: str, ref_source_id: str | None) -> dict[str, Any]:
        """A participant's person_id, team_id and escalation_policy_id: the one its type names."""
        refs: dict[str, Any] = dict.fromkeys(_PARTICIPANT_COLUMNS)
        if (target := _PARTICIPANT_TARGET.get(member_type)) is not None:
            refs[target[0]] = self._id_of(target[1], ref_source_id)
        return refs

    def _rows_by_store_id(self, kind: EntityType, store_ids: list[int]) -> dict[int, Row[Any]]:
        table = _ENTITIES[kind].table
        found: dict[int, Row[Any]] = {}
        for chunk in _chunks(store_ids):
            query = select(
                table.c.id,
                table.c.managed,
                table.c.source_system,
                table.c.source_account,
                table.c.source_id,
            ).where(table.c.id.in_(chunk))
            found |= {row.id: row for row in self.conn.execute(query)}
        return found

    # the load -----------------------------------------------------------------------------

    def run(self) -> dict[str, int]:
        by_kind: dict[EntityType, list[PlannedChange]] = {}
        for change in self.plan.changes:
            by_kind.setdefault(change.entity_type, []).append(change)
        for kind in WRITE_ORDER:
            self._write_entities(kind, by_kind.get(kind, []))
        _write_children(self)
        self._write_items_and_invitations()
        return {table: rows for table, rows in self.written.items() if rows}

    def _write_entities(self, kind: EntityType, changes: list[PlannedChange]) -> None:
        # One write per row: should a plan name a source id twice, its last word counts.
        writes = list(
            {c.source_id: c for c in changes if c.action in (Action.CREATE, Action.UPDATE)}.values()
        )
        tombstones = [c for c in changes if c.action is Action.TOMBSTONE]
        for change in changes:
            if change.action not in (Action.CREATE, Action.UPDATE, Action.TOMBSTONE):
                self._item(change)
        self._flag_local_edits(
            kind, [c.source_id for c in changes if c.action is Action.SKIPPED_LOCAL_EDIT]
        )
        if not writes and not tombstones:
            return
        existing = self._load_ids(kind)
        by_store_id = self._rows_by_store_id(
            kind,
            [c.store_id for c in writes + tombstones if c.store_id and c.source_id not in existing],
        )
        upserts: list[tuple[PlannedChange, dict[str, Any]]] = []
        adoptions: list[tuple[PlannedChange, dict[str, Any]]] = []
        for change in writes:
            if change.record is None:
                raise StoreWriteError(
                    f"{kind} {change.source_id}: a {change.action} needs a record"
                )
            adopted = by_store_id.get(change.store_id) if change.store_id else None
            if self._is_detached(change, existing.get(change.source_id), adopted):
                continue
            if adopted is not None and adopted.source_id is not None:
                raise StoreWriteError(
                    f"{kind} {change.source_id!r}: store row {change.store_id} already comes from "
                    f"{adopted.source_system}/{adopted.source_account}/{adopted.source_id}; "
                    "only rows created locally can be adopted"
                )
            row = self._row(kind, change)
            (adoptions if adopted is not None else upserts).append((change, row))
            self._item(change)
        if upserts:
            _upsert(self.conn, _ENTITIES[kind].table, [row for _, row in upserts])
        if adoptions:
            self._adopt(kind, [row | {"b_id": c.store_id} for c, row in adoptions])
        self.written[_ENTITIES[kind].table.name] += len(upserts) + len(adoptions)
        self._tombstone(kind, tombstones, existing, by_store_id)
        if upserts or adoptions:
            ids = self._load_ids(kind)
            self.rewritten[kind] = [
                (ids[c.source_id].store_id, c.record or {}, adopted or c.source_id in existing)
                for adopted, pairs in ((False, upserts), (True, adoptions))
                for c, _ in pairs
            ]

    def _flag_local_edits(self, kind: EntityType, source_ids: list[str]) -> None:
        """Keep local_modified true on rows the sync left alone because they were edited here,
        so that SQL can list them; the row's own columns stay as the editor left them."""
        table = _ENTITIES[kind].table
        for chunk in _chunks(source_ids):
            stmt = (
                update(table)
                .where(
                    _of_account(table, self.plan.source_system, self.plan.source_account),
                    table.c.source_id.in_(chunk),
                    table.c.local_modified.is_(False),
                )
                .values(local_modified=True, local_modified_at=self.now)
            )
            self.written[table.name] += self.conn.execute(stmt).rowcount

    def _is_detached(
        self, change: PlannedChange, existing: _Existing | None, adopted: Row[Any] | None
    ) -> bool:
        managed = existing.managed if existing else (adopted.managed if adopted else None)
        if managed != s.MANAGED_DETACHED:
            return False
        self.items.append(
            _item_row(
                change,
                action=Action.SKIP,
                reason=f"the store row is detached (managed locally); planned {change.action} "
                "not applied",
            )
        )
        return True

    def _row(self, kind: EntityType, change: PlannedChange) -> dict[str, Any]:
        """Columns for a created or updated row: the record, its references, provenance."""
        data = change.record or {}
        entity = _ENTITIES[kind]
        row = _entity_row(kind, data)
        for fk, source_column, target in entity.refs:
            row[fk] = self._id_of(target, data[source_column])
            table_column = entity.table.c[fk]
            if row[fk] is None and not table_column.nullable:
                raise StoreWriteError(
                    f"{kind} {change.source_id!r} refers to {target} {data[source_column]!r}, "
                    "which is not in the store: the plan must create it first"
                )
        if kind is EntityType.OVERRIDE:
            row |= self._participant_refs(row["member_type"], row["ref_source_id"])
        source_hash = record_hash(data)
        applied = store_form(kind, data)
        # Usually the same record (instants already in UTC): hash it once.
        applied_hash = source_hash if applied == data else record_hash(applied)
        row |= {
            "source_system": self.plan.source_system,
            "source_account": self.plan.source_account,
            "source_id": change.source_id,
            "source_hash": source_hash,
            "applied_hash": applied_hash,
            "last_synced_at": self.now,
            "last_sync_run_id": self.plan.run_id,
            "local_modified": False,
            "local_modified_at": None,
            "source_deleted_at": None,
            "created_at": self.now,
            "updated_at": self.now,
        }
        return row

    def _adopt(self, kind: EntityType, rows: list[dict[str, Any]]) -> None:
        """Give rows created locally this source's provenance (matched by email or merged)."""
        table = _ENTITIES[kind].table
        values: dict[str, Any] = {
            c: bindparam(c) for c in rows[0] if c not in ("b_id", "created_at")
        }
        stmt = (
            update(table)
            .where(table.c.id == bindparam("b_id"), table.c.managed == s.MANAGED_SYNCED)
            .values(values)
        )
        self.conn.execute(stmt, rows)

    def _tombstone(
        self,
        kind: EntityType,
        changes: list[PlannedChange],
        existing: dict[str, _Existing],
        by_store_id: dict[int, Row[Any]],
    ) -> None:
        """Mark rows gone from the source; never delete them."""
        store_ids: list[int] = []
        for change in changes:
            found = existing.get(change.source_id)
            store_id = found.store_id if found else change.store_id
            managed = found.managed if found else None
            if store_id is None or (found is None and store_id not in by_store_id):
                self._item(change)  # nothing in the store to mark: recorded, not written
                continue
            if managed == s.MANAGED_DETACHED or (
                store_id in by_store_id and by_store_id[store_id].managed == s.MANAGED_DETACHED
            ):
                self._is_detached(change, _Existing(store_id, s.MANAGED_DETACHED), None)
                continue
            store_ids.append(store_id)
            self._item(change)
        if not store_ids:
            return
        table = _ENTITIES[kind].table
        for chunk in _chunks(store_ids):
            stmt = (
                update(table)
                .where(
                    table.c.id.in_(chunk),
                    table.c.source_deleted_at.is_(None),
                    table.c.managed == s.MANAGED_SYNCED,
                )
                .values(
                    source_deleted_at=self.now,
                    updated_at=self.now,
                    last_sync_run_id=self.plan.run_id,
                )
            )
            self.written[table.name] += self.conn.execute(stmt).rowcount

    def _item(self, change: PlannedChange) -> None:
        if change.action is not Action.UNCHANGED:
            self.items.append(_item_row(change))

    def _write_items_and_invitations(self) -> None:
        run_id = self.plan.run_id
        if not self.items and not self.plan.invitations:
            return
        self._ensure_sync_run()
        # A re-run of the same load replaces its items instead of doubling them.
        self.conn.execute(delete(s.sync_run_item).where(s.sync_run_item.c.sync_run_id == run_id))
        if self.items:
            rows = [item | {"sync_run_id": run_id} for item in self.items]
            _insert_many(self.conn, s.sync_run_item, rows)
            self.written[s.sync_run_item.name] += len(self.items)
        if self.plan.invitations:
            self._write_invitations()

    def _ensure_sync_run(self) -> None:
        insert = postgresql.insert if self.conn.dialect.name == "postgresql" else sqlite.insert
        stmt = insert(s.sync_run).values(
            id=self.plan.run_id,
            source_system=self.plan.source_system,
            source_account=self.plan.source_account,
            started_at=self.now,
            status="loading",
            dry_run=False,
        )
        stmt = stmt.on_conflict_do_nothing(index_elements=[s.sync_run.c.id])
        inserted = self.conn.execute(stmt.returning(s.sync_run.c.id)).all()
        self.written[s.sync_run.name] += len(inserted)

    def _write_invitations(self) -> None:
        """New invitations are inserted; existing ones (by email) keep their status and date."""
        t = s.invitation
        by_email = {inv.email: inv for inv in self.plan.invitations}
        known: dict[str, int | None] = {}
        for chunk in _chunks(sorted(by_email)):
            query = select(t.c.email, t.c.person_id).where(t.c.email.in_(chunk))
            known |= {email: person_id for email, person_id in self.conn.execute(query)}
        new = [
            {
                "email": inv.email,
                "person_id": self._id_of(EntityType.PERSON, inv.person_source_id),
                "person_source_id": inv.person_source_id,
                "source_system": self.plan.source_system,
                "source_account": self.plan.source_account,
                "status": str(inv.status),
                "invited_at": self.now,
                "sync_run_id": self.plan.run_id,
            }
            for email, inv in by_email.items()
            if email not in known
        ]
        late_people = [
            {"b_email": email, "person_id": person_id}
            for email, inv in by_email.items()
            if email in known
            and known[email] is None
            and (person_id := self._id_of(EntityType.PERSON, inv.person_source_id)) is not None
        ]
        if new:
            self.conn.execute(t.insert(), new)
            invited = [row["person_id"] for row in new if row["person_id"] is not None]
            for chunk in _chunks(invited):
                self.conn.execute(
                    update(s.person)
                    .where(s.person.c.id.in_(chunk), s.person.c.invite_status.is_(None))
                    .values(invite_status="pending")
                )
        if late_people:
            email_matches = t.c.email == bindparam("b_email")
            stmt = update(t).where(email_matches).values(person_id=bindparam("person_id"))
            self.conn.execute(stmt, late_people)
        self.written[t.name] += len(new) + len(late_people)


def _item_row(
    change: PlannedChange, *, action: Action | None = None, reason: str | None = None
) -> dict[str, Any]:
    dumped = change.model_dump(mode="json", include={"diff"})
    return {
        "entity_type": str(change.entity_type),
        "source_id": change.source_id,
        "store_id": change.store_id,
        "name": change.name,
        "action": str(action or change.action),
        "reason": change.reason if reason is None else reason,
        "diff": dumped["diff"] or None,
    }


def _write_children(load: _Load) -> None:
    """Rewrite the child rows of every parent written in this load: delete, then insert."""
    conn = load.conn
    rotations = load.rewritten.get(EntityType.ROTATION, [])
    overrides = load.rewritten.get(EntityType.OVERRIDE, [])
    policies = load.rewritten.get(EntityType.ESCALATION_POLICY, [])

    def clear(table: Table, fk: str, parents: list[tuple[int, dict[str, Any], bool]]) -> None:
        ids = [store_id for store_id, _, existed in parents if existed]
        for chunk in _chunks(ids):
            conn.execute(delete(table).where(table.c[fk].in_(chunk)))

    def insert(table: Table, rows: list[dict[str, Any]]) -> None:
        if rows:
            _insert_many(conn, table, rows)
            load.written[table.name] += len(rows)

    clear(s.rotation_member, "rotation_id", rotations)
    clear(s.rotation_window, "rotation_id", rotations)
    members, windows = [], []
    for rotation_id, data, _ in rotations:
        for position, member in enumerate(data["members"]):
            members.append(
                {
                    "rotation_id": rotation_id,
                    "position": position,
                    "member_type": member["member_type"],
                    "ref_source_id": member["ref_source_id"],
                    "ref_name": member["ref_name"],
                    **load._participant_refs(member["member_type"], member["ref_source_id"]),
                }
            )
        for ordinal, window in enumerate(data["windows"]):
            parsed = TimeWindow.model_validate(window)
            windows.append(
                {
                    "rotation_id": rotation_id,
                    "ordinal": ordinal,
                    "kind": str(parsed.kind),
                    "start_weekday": parsed.start_weekday,
                    "start_time": parsed.start_time,
                    "end_weekday": parsed.end_weekday,
                    "end_time": parsed.end_time,
                    "duration_minutes": parsed.duration_minutes,
                }
            )
    insert(s.rotation_member, members)
    insert(s.rotation_window, windows)

    clear(s.schedule_override_rotation, "override_id", overrides)
    insert(
        s.schedule_override_rotation,
        [
            {
                "override_id": override_id,
                "ordinal": ordinal,
                "rotation_source_id": rotation_source_id,
                "rotation_id": load._id_of(EntityType.ROTATION, rotation_source_id),
            }
            for override_id, data, _ in overrides
            for ordinal, rotation_source_id in enumerate(data["rotation_source_ids"])
        ],
    )

    existed = [store_id for store_id, _, was in policies if was]
    level_ids = s.escalation_level.c
    for chunk in _chunks(existed):
        old_levels = select(level_ids.id).where(level_ids.policy_id.in_(chunk))
        target_level = s.escalation_target.c.level_id
        conn.execute(delete(s.escalation_target).where(target_level.in_(old_levels)))
        conn.execute(delete(s.escalation_level).where(level_ids.policy_id.in_(chunk)))
    insert(
        s.escalation_level,
        [
            {
                "policy_id": policy_id,
                "ordinal": ordinal,
                "position": level["position"],
                "condition": level["condition"],
                "offset_seconds": level["offset_seconds"],
                "timeout_seconds": level["timeout_seconds"],
            }
            for policy_id, data, _ in policies
            for ordinal, level in enumerate(data["levels"])
        ],
    )
    new_level_ids: dict[tuple[int, int], int] = {}
    for chunk in _chunks([policy_id for policy_id, _, _ in policies]):
        query = select(level_ids.policy_id, level_ids.ordinal, level_ids.id).where(
            level_ids.policy_id.in_(chunk)
        )
        new_level_ids |= {(p, o): i for p, o, i in conn.execute(query)}
    targets = []
    for policy_id, data, _ in policies:
        for ordinal, level in enumerate(data["levels"]):
            for target_ordinal, target in enumerate(level["targets"]):
                row = {
                    "level_id": new_level_ids[(policy_id, ordinal)],
                    "ordinal": target_ordinal,
                    "target_type": target["target_type"],
                    "ref_source_id": target["ref_source_id"],
                    "ref_name": target["ref_name"],
                    "schedule_pick": target["schedule_pick"],
                    "team_audience": target["team_audience"],
                    "person_id": None,
                    "team_id": None,
                    "schedule_id": None,
                }
                column, kind = _TARGET_TARGET[target["target_type"]]
                row[column] = load._id_of(kind, target["ref_source_id"])
                targets.append(row)
    insert(s.escalation_target, targets)


def apply_plan(engine: Engine, plan: Plan, *, now: datetime | None = None) -> dict[str, int]:
    """Apply a plan in ONE transaction under the load lock; returns rows written per table.

    Creates and updates upsert on (source_system, source_account, source_id) and rewrite their
    children; a change with a store_id on a row without a source adopts that row; tombstones
    set source_deleted_at; unchanged, skip, conflict and skipped_local_edit write no entity row.
    Every change but unchanged becomes a sync_run_item. Detached rows are never touched.
    """
    moment = now or datetime.now(UTC)
    try:
        with write_transaction(engine) as conn:
            return _Load(conn, plan, moment).run()
    except Exception as exc:
        refusal = _refusal(exc)
        if refusal is None:
            raise
        raise StoreWriteError(
            f"the plan for run {plan.run_id} was not applied (nothing was written): {refusal}"
        ) from exc


def _refusal(exc: Exception) -> str | None:
    """Words for a database that refused the load, or None for anything else.

    Rows go in through SQLAlchemy (wrapped errors) and, on PostgreSQL, through psycopg's COPY
    (the driver's own errors); a second load waiting past SQLite's busy timeout is refused too.
    """
    if isinstance(exc, IntegrityError):
        return f"it conflicts with the store: {_first_line(exc.orig)}"
    if isinstance(exc, DataError):
        return f"the store cannot hold a value: {_first_line(exc.orig)}"
    if isinstance(exc, OperationalError) and "locked" in str(exc.orig):
        return (
            "another load holds the store's write lock and did not finish within the busy "
            f"timeout ({store_config.SQLITE_BUSY_TIMEOUT_MS} ms); re-run load when it is done"
        )
    driver = sys.modules.get("psycopg")
    if driver is not None and isinstance(exc, driver.DataError | driver.IntegrityError):
        return f"the store cannot hold a value: {_first_line(exc)}"
    return None


def _first_line(error: BaseException | None) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__


# --- runs and detaching ----------------------------------------------------------------------


class SyncRun(BaseModel):
    """A sync_run row at the boundary: the fields given are written, the others kept."""

    model_config = ConfigDict(extra="forbid")

    id: str  # the Airflow dag id and run id, e.g. "opsgenie_sync/scheduled__2026-11-27T02:00"
    source_system: str
    source_account: str
    status: str
    started_at: AwareDatetime | None = None
    finished_at: AwareDatetime | None = None
    dry_run: bool = False
    conflict_strategy: str | None = None
    params: dict[str, Any] | None = None
    stats: dict[str, Any] | None = None


def record_sync_run(engine: Engine, run: dict[str, Any] | SyncRun) -> None:
    """Insert or update one sync_run row; fields not given keep their stored value."""
    validated = run if isinstance(run, SyncRun) else SyncRun.model_validate(run)
    row = validated.model_dump(exclude_unset=True) | {
        key: getattr(validated, key) for key in ("id", "source_system", "source_account", "status")
    }
    with engine.begin() as conn:
        insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        stmt = insert(s.sync_run).values(row)
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[s.sync_run.c.id],
                set_={c: stmt.excluded[c] for c in row if c != "id"},
            )
        )


def detach(engine: Engine, entity_type: EntityType, store_id: int) -> bool:
    """Mark a row as managed locally: from now on the sync leaves it alone. True if it existed."""
    table = _ENTITIES[entity_type].table
    with engine.begin() as conn:
        result = conn.execute(
            update(table)
            .where(table.c.id == store_id)
            .values(managed=s.MANAGED_DETACHED, updated_at=datetime.now(UTC))
        )
        return result.rowcount == 1


def table_of(entity_type: EntityType) -> Table:
    """The table that holds an entity type's rows."""
    return _ENTITIES[entity_type].table
