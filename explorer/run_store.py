"""A store for background training runs that lives outside any one server process.

Training runs in its own process (explorer/lab_worker.py) so that it never competes with the
web server for Python's GIL, survives a restart of the server, and is visible to every
server process (several `streamlit run` replicas behind a reverse proxy on one machine).
The channel between them is one SQLite database in write-ahead-log mode in a run folder:
- WAL lets many readers (every server process, every browser's refresh) read while one
  writer (the worker) writes, without blocking each other;
- every message is a row that survives a crash of either side (kill -9 included): the
  worker's heartbeat tells a server whether the run still lives, and commands (pause, stop,
  a knob change, save) wait in a table until the worker applies and acknowledges them;
- it needs nothing beyond Python's standard library, and a run folder can be inspected with
  the sqlite3 shell.
Queues between processes (torch.multiprocessing) would tie a run to the server that spawned
it and die with it. Several machines would need a store that every one of them reaches
(PostgreSQL or Redis beside a shared file system for the weights), behind this same API.

Tables: runs (status, heartbeat, settings), commands (pending and done), snapshots (the
latest live view of each run, as bytes), points (finished runs' rate-distortion points),
presentations (a lecturer's view that followers mirror).
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator

RUNS_ENV_VAR = "EXPLORER_RUNS"  # the store's folder (default ~/.cache/explorer/runs)
HEARTBEAT_SECONDS = 1.0  # how often a worker reports
LOST_AFTER_SECONDS = 10.0  # no heartbeat for this long: the worker is gone
ACTIVE_STATES = ("starting", "running", "paused")

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    name TEXT PRIMARY KEY, kind TEXT NOT NULL, settings TEXT NOT NULL,
    state TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '', pid INTEGER,
    step INTEGER NOT NULL DEFAULT 0, epoch REAL NOT NULL DEFAULT 0,
    seconds REAL NOT NULL DEFAULT 0, images_per_second REAL NOT NULL DEFAULT 0,
    hyper TEXT NOT NULL DEFAULT '{}', device TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL, heartbeat REAL NOT NULL, watched REAL NOT NULL DEFAULT 0,
    generation INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS commands (
    id INTEGER PRIMARY KEY AUTOINCREMENT, run TEXT NOT NULL, generation INTEGER NOT NULL,
    command TEXT NOT NULL, value TEXT NOT NULL DEFAULT '{}', created REAL NOT NULL,
    done REAL, result TEXT);
CREATE TABLE IF NOT EXISTS snapshots (
    run TEXT PRIMARY KEY, version INTEGER NOT NULL, created REAL NOT NULL,
    payload BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS presentations (
    code TEXT PRIMARY KEY, token TEXT NOT NULL, page TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL DEFAULT '{}', version INTEGER NOT NULL DEFAULT 0,
    updated REAL NOT NULL, heartbeat REAL NOT NULL, ended INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS points (
    id INTEGER PRIMARY KEY AUTOINCREMENT, rate REAL NOT NULL, distortion REAL NOT NULL,
    beta REAL NOT NULL, label TEXT NOT NULL, run TEXT NOT NULL, created REAL NOT NULL,
    betas TEXT NOT NULL DEFAULT '[]');
"""
# columns added since a store could first be made: (table, column, its SQL definition)
ADDED_COLUMNS = [("points", "betas", "TEXT NOT NULL DEFAULT '[]'")]


def _add_missing_columns(db: sqlite3.Connection) -> None:
    """ALTER TABLE for each of ADDED_COLUMNS that a store made by an older version lacks
    (CREATE TABLE IF NOT EXISTS leaves an existing table as it is). Another process adding
    the same column at the same moment is not an error."""
    for table, column, definition in ADDED_COLUMNS:
        have = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        if column not in have:
            try:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
            except sqlite3.OperationalError as exc:
                if "duplicate column" not in str(exc):
                    raise


class RunStoreError(RuntimeError):
    """The store could not do what was asked (busy, unknown run...), said plainly."""


@dataclass
class RunStatus:
    """What a server shows about a run (read from the store)."""

    name: str
    kind: str  # "lab" (one VAE run) or "sweep" (several short runs)
    settings: dict[str, Any]
    state: str  # starting, running, paused, stopped, finished, failed, lost
    reason: str
    pid: int | None
    step: int
    epoch: float
    seconds: float  # training time, pauses excluded
    images_per_second: float
    hyper: dict[str, float]
    device: str
    created: float
    heartbeat: float
    generation: int  # counts restarts of the name; commands belong to one generation

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES


@dataclass
class RatePoint:
    rate: float  # KL, nats per image
    distortion: float  # -E_q log p(x|z), nats per image
    beta: float
    label: str
    run: str = ""
    created: float = field(default_factory=time.time)
    # the β values the run stood at, in order, repeats merged (1, 4, 1 for a β turned and
    # turned back); empty when only `beta` is known (a point stored before this field)
    betas: tuple[float, ...] = ()


# ---- presentations: one driving session, many followers ----------------------------------
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread on a projector
PRESENTER_GONE_SECONDS = 15.0  # no heartbeat for this long: the presenter has left


@dataclass
class Presentation:
    code: str
    page: str  # the presenter's page (its url path)
    state: dict[str, Any]  # {"widgets": {key: value}, "params": {key: text}}
    version: int  # grows with every change the presenter makes
    updated: float
    heartbeat: float
    ended: bool

    @property
    def present(self) -> bool:
        """The presenter is still there (not ended, heartbeat fresh)."""
        return not self.ended and time.time() - self.heartbeat < PRESENTER_GONE_SECONDS


def default_root() -> Path:
    return Path(os.environ.get(RUNS_ENV_VAR) or Path.home() / ".cache" / "explorer" / "runs")


class RunStore:
    """The run folder: runs.sqlite plus one sub-folder per run for its files (state, log)."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root is not None else default_root()
        with self._connect(schema=True):  # the folder and the tables, whoever made them
            pass

    # ---- plumbing ----------------------------------------------------------------------
    @contextmanager
    def _connect(self, schema: bool = False) -> Iterator[sqlite3.Connection]:
        """A connection to runs.sqlite, making the folder and the tables when `schema` or
        when the file is missing: a folder removed while the server runs (a cleaner
        emptying /tmp, say) is made anew, empty, rather than failing every page."""
        fresh = schema or not (self.root / "runs.sqlite").exists()
        if fresh:
            self.root.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.root / "runs.sqlite", timeout=30, isolation_level=None)
        try:
            db.execute("PRAGMA busy_timeout=30000")
            db.execute("PRAGMA synchronous=NORMAL")  # durable at each checkpoint in WAL mode
            if fresh:
                db.execute("PRAGMA journal_mode=WAL")
                db.executescript(SCHEMA)
                _add_missing_columns(db)
            yield db
        finally:
            db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")  # one writer at a time, readers unaffected
            try:
                yield db
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def run_dir(self, name: str) -> Path:
        folder = self.root / name
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    # ---- runs --------------------------------------------------------------------------
    def claim(self, name: str, kind: str, settings: dict[str, Any], max_active: int = 1
              ) -> tuple[RunStatus, bool]:
        """Register a new run under `name` unless one is active there: (status, created).

        Two browsers pressing Start at once (or one pressing it twice) get one run: the
        second claim sees the first and returns it with created=False. Raises RunStoreError
        when `max_active` other runs are active.
        """
        now = time.time()
        with self._transaction() as db:
            self._mark_lost(db, now)
            row = db.execute("SELECT state, generation FROM runs WHERE name = ?",
                             (name,)).fetchone()
            if row is not None and row[0] in ACTIVE_STATES:
                return self._status(db, name), False
            busy = [r[0] for r in db.execute(
                "SELECT name FROM runs WHERE state IN (?, ?, ?) AND name != ?",
                (*ACTIVE_STATES, name))]
            if len(busy) >= max_active:
                raise RunStoreError(
                    f"Another training run is still going ({', '.join(busy)}): this server "
                    f"trains {max_active} at a time. Stop it first, or start the server with "
                    f"a larger EXPLORER_MAX_RUNS.")
            generation = (row[1] + 1) if row is not None else 0
            db.execute("DELETE FROM runs WHERE name = ?", (name,))
            db.execute("DELETE FROM snapshots WHERE run = ?", (name,))
            db.execute("INSERT INTO runs (name, kind, settings, state, created, heartbeat, "
                       "generation) VALUES (?, ?, ?, 'starting', ?, ?, ?)",
                       (name, kind, json.dumps(settings), now, now, generation))
            return self._status(db, name), True

    def status(self, name: str) -> RunStatus | None:
        """The run's status, or None; a run whose worker stopped reporting reads as "lost"."""
        with self._connect() as db:
            self._mark_lost(db, time.time())
            return self._status(db, name)

    def runs(self) -> list[RunStatus]:
        with self._connect() as db:
            self._mark_lost(db, time.time())
            names = [r[0] for r in db.execute("SELECT name FROM runs ORDER BY created")]
            return [s for s in (self._status(db, n) for n in names) if s is not None]

    def forget(self, name: str) -> None:
        """Remove a run's rows (its folder stays, for its files)."""
        with self._transaction() as db:
            db.execute("DELETE FROM runs WHERE name = ?", (name,))
            db.execute("DELETE FROM snapshots WHERE run = ?", (name,))
            db.execute("UPDATE commands SET done = ?, result = 'forgotten' "
                       "WHERE run = ? AND done IS NULL", (time.time(), name))

    def report(self, name: str, generation: int, **fields: Any) -> None:
        """A worker's heartbeat with any status fields (state, step, hyper...)."""
        fields["heartbeat"] = time.time()
        if "hyper" in fields:
            fields["hyper"] = json.dumps(fields["hyper"])
        columns = ", ".join(f"{key} = ?" for key in fields)
        with self._connect() as db:
            db.execute(f"UPDATE runs SET {columns} WHERE name = ? AND generation = ?",
                       (*fields.values(), name, generation))

    def mark_watched(self, name: str) -> None:
        """A server is showing the run's live view (the worker computes snapshots only while
        someone watches)."""
        with self._connect() as db:
            db.execute("UPDATE runs SET watched = ? WHERE name = ?", (time.time(), name))

    def watched_since(self, name: str) -> float:
        with self._connect() as db:
            row = db.execute("SELECT watched FROM runs WHERE name = ?", (name,)).fetchone()
        return 0.0 if row is None else float(row[0])

    @staticmethod
    def _mark_lost(db: sqlite3.Connection, now: float) -> None:
        db.execute("UPDATE runs SET state = 'lost', reason = 'The training process stopped "
                   "reporting (it was killed or crashed). Its last saved state can be "
                   "continued.' WHERE state IN (?, ?, ?) AND heartbeat < ?",
                   (*ACTIVE_STATES, now - LOST_AFTER_SECONDS))

    @staticmethod
    def _status(db: sqlite3.Connection, name: str) -> RunStatus | None:
        row = db.execute("SELECT name, kind, settings, state, reason, pid, step, epoch, "
                         "seconds, images_per_second, hyper, device, created, heartbeat, "
                         "generation FROM runs WHERE name = ?", (name,)).fetchone()
        if row is None:
            return None
        values = list(row)
        values[2], values[10] = json.loads(values[2]), json.loads(values[10])
        return RunStatus(*values)

    # ---- commands ----------------------------------------------------------------------
    def send(self, name: str, command: str, value: dict[str, Any] | None = None) -> int:
        """Queue a command for the run's current worker; returns its id."""
        with self._transaction() as db:
            row = db.execute("SELECT generation FROM runs WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise RunStoreError(f"No run named '{name}'.")
            cursor = db.execute("INSERT INTO commands (run, generation, command, value, "
                                "created) VALUES (?, ?, ?, ?, ?)",
                                (name, row[0], command, json.dumps(value or {}), time.time()))
            return int(cursor.lastrowid)

    def pending(self, name: str, generation: int) -> list[tuple[int, str, dict[str, Any]]]:
        """Commands the worker has not handled yet, oldest first: (id, command, value)."""
        with self._connect() as db:
            rows = db.execute("SELECT id, command, value FROM commands WHERE run = ? AND "
                              "generation = ? AND done IS NULL ORDER BY id",
                              (name, generation)).fetchall()
        return [(int(i), c, json.loads(v)) for i, c, v in rows]

    def acknowledge(self, command_id: int, result: dict[str, Any] | None = None) -> None:
        with self._connect() as db:
            db.execute("UPDATE commands SET done = ?, result = ? WHERE id = ?",
                       (time.time(), json.dumps(result or {}), command_id))

    def result(self, command_id: int, timeout: float = 0.0) -> dict[str, Any] | None:
        """A command's result once the worker acknowledged it (waiting up to `timeout` s)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._connect() as db:
                row = db.execute("SELECT done, result FROM commands WHERE id = ?",
                                 (command_id,)).fetchone()
            if row is not None and row[0] is not None:
                return json.loads(row[1] or "{}")
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.05)

    # ---- live snapshots ------------------------------------------------------------------
    def put_snapshot(self, name: str, payload: bytes) -> int:
        """Replace the run's live snapshot; returns its new version."""
        with self._transaction() as db:
            row = db.execute("SELECT version FROM snapshots WHERE run = ?", (name,)).fetchone()
            version = (row[0] + 1) if row else 1
            db.execute("INSERT OR REPLACE INTO snapshots (run, version, created, payload) "
                       "VALUES (?, ?, ?, ?)", (name, version, time.time(), payload))
            return version

    def snapshot_version(self, name: str) -> int:
        with self._connect() as db:
            row = db.execute("SELECT version FROM snapshots WHERE run = ?", (name,)).fetchone()
        return 0 if row is None else int(row[0])

    def get_snapshot(self, name: str) -> tuple[int, bytes] | None:
        with self._connect() as db:
            row = db.execute("SELECT version, payload FROM snapshots WHERE run = ?",
                             (name,)).fetchone()
        return None if row is None else (int(row[0]), bytes(row[1]))

    # ---- presentations: one driving session, many followers ---------------------------
    def start_presentation(self) -> tuple[str, str]:
        """A new presentation: (short code for followers, secret token for the presenter).
        Only the token can change what followers see; the code cannot."""
        import secrets

        token, now = secrets.token_hex(16), time.time()
        with self._transaction() as db:
            for _ in range(100):
                code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(4))
                if db.execute("SELECT 1 FROM presentations WHERE code = ? AND ended = 0",
                              (code,)).fetchone() is None:
                    db.execute("INSERT OR REPLACE INTO presentations (code, token, updated, "
                               "heartbeat) VALUES (?, ?, ?, ?)", (code, token, now, now))
                    return code, token
        raise RunStoreError("No free presentation code; end an old presentation.")

    def publish(self, code: str, token: str, page: str, state: dict[str, Any]
                ) -> int:
        """Record the presenter's view (a new version when it changed, else a heartbeat);
        returns the version. RunStoreError for a wrong token or an ended presentation."""
        text, now = json.dumps(state, sort_keys=True), time.time()
        with self._transaction() as db:
            row = db.execute("SELECT token, page, state, version, ended FROM presentations "
                             "WHERE code = ?", (code,)).fetchone()
            if row is None or row[0] != token or row[4]:
                raise RunStoreError("Only the session that started presenting can drive it.")
            version = row[3] + (1 if (row[1], row[2]) != (page, text) else 0)
            db.execute("UPDATE presentations SET page = ?, state = ?, version = ?, "
                       "updated = CASE WHEN ? != version THEN ? ELSE updated END, "
                       "heartbeat = ? WHERE code = ?",
                       (page, text, version, version, now, now, code))
            return version

    def presentation(self, code: str) -> Presentation | None:
        with self._connect() as db:
            row = db.execute("SELECT code, page, state, version, updated, heartbeat, ended "
                             "FROM presentations WHERE code = ?",
                             ((code or "").upper(),)).fetchone()
        if row is None:
            return None
        return Presentation(row[0], row[1], json.loads(row[2]), int(row[3]), float(row[4]),
                            float(row[5]), bool(row[6]))

    def end_presentation(self, code: str, token: str) -> int | None:
        """End a presentation (a new version, so followers' watchers notice at once);
        returns that version, or None for a wrong token or an unknown code."""
        with self._transaction() as db:
            row = db.execute("SELECT version FROM presentations WHERE code = ? AND token = ?",
                             (code, token)).fetchone()
            if row is None:
                return None
            db.execute("UPDATE presentations SET ended = 1, version = version + 1, "
                       "updated = ? WHERE code = ?", (time.time(), code))
            return int(row[0]) + 1

    # ---- rate-distortion points of finished runs -------------------------------------------
    def add_point(self, point: RatePoint) -> None:
        row = asdict(point)
        row["betas"] = json.dumps([float(b) for b in point.betas])
        with self._connect() as db:
            db.execute("INSERT INTO points (rate, distortion, beta, label, run, created, betas) "
                       "VALUES (:rate, :distortion, :beta, :label, :run, :created, :betas)", row)

    def points(self) -> list[RatePoint]:
        with self._connect() as db:
            rows = db.execute("SELECT rate, distortion, beta, label, run, created, betas "
                              "FROM points ORDER BY id").fetchall()
        return [RatePoint(*row[:6], betas=tuple(json.loads(row[6]))) for row in rows]

    def clear_points(self) -> None:
        with self._connect() as db:
            db.execute("DELETE FROM points")



class RecentReads:
    """The store's most frequent reads, shared by every session of one server process and
    reused for `max_age` seconds: 30 followers polling a presentation twice a second, and
    every page run listing the runs, then cost the database a few queries a second instead
    of one connection each. Thread-safe (sessions run in their own threads)."""

    MAX_AGE = 0.2  # seconds

    def __init__(self, store: RunStore, max_age: float = MAX_AGE):
        import threading

        self.store, self.max_age = store, max_age
        self._lock = threading.Lock()
        self._answers: dict[tuple, tuple[float, Any]] = {}

    def _read(self, key: tuple, read) -> Any:
        now = time.monotonic()
        with self._lock:  # one reader per key at a time; the others take its answer
            kept = self._answers.get(key)
            if kept is None or now - kept[0] > self.max_age:
                kept = (time.monotonic(), read())
                self._answers[key] = kept
            return kept[1]

    def runs(self) -> list[RunStatus]:
        """RunStore.runs(), at most max_age seconds old."""
        return list(self._read(("runs",), self.store.runs))

    def presentation(self, code: str, at_least: int | None = None) -> Presentation | None:
        """RunStore.presentation(code), at most max_age seconds old (None: no such code),
        and read afresh when the kept one is older than version `at_least` (a follower's
        page saw that version published)."""
        code = (code or "").upper()[:16]
        key = ("presentation", code)
        with self._lock:
            if len(self._answers) > 256:  # codes typed by hand: keep the table small
                self._answers.clear()
            kept = self._answers.get(key)
            if kept is not None and at_least is not None and kept[1] is not None \
                    and kept[1].version < at_least:
                del self._answers[key]
        return self._read(key, lambda: self.store.presentation(code))
