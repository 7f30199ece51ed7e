"""The system catalog: a DuckDB database of interfaces, agents, hardware, clusters and
profiles, read through one API.

This is the only module that speaks SQL. The binder and planner call the methods
below and get frozen dataclasses back; rows are read once and kept in memory, because
planning asks the same questions thousands of times.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import math
import os
import platform
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Iterator

import duckdb

from ..grammar.diagnostics import MurakkabError
from . import expressions
from .types import Type, parse_type

SCHEMA_VERSION = 10
LOCAL_CLUSTER = "local"

# Seed files in load order (parents before children, for the foreign keys).
SEED_TABLES: tuple[str, ...] = (
    "interfaces",
    "interface_knobs",
    "agents",
    "hardware",
    "clusters",
    "profiles",
    "statistics",
    "llm_curves",
    "energy_per_token",
    "workflow_quality",
    "published_tiers",
    "workflow_tokens",
    "llm_apis",
)

# Seed tables a migration created or added rows to after the catalog was first seeded: a
# catalog migrated past the version gets the seed rows it lacks then (older catalogs would
# otherwise keep them empty); rows it already has, the user's edits included, stay.
SEEDED_BY_MIGRATION: dict[str, int] = {"workflow_tokens": 7, "llm_apis": 7, "interface_knobs": 8, "agents": 8,
                                       "profiles": 8}


@dataclass(frozen=True)
class InterfaceParam:
    name: str
    type: Type
    variadic: bool


# What a knob's value does to the task that carries it (migration 0008 says more).
KNOB_EFFECTS = ("value", "optional", "repeat", "limit")


@dataclass(frozen=True)
class Knob:
    """A setting of an interface's tasks: a script fixes it with ``WITH (...)``, or the
    planner chooses it from ``domain``. ``effect`` is ``value`` when the agents read it,
    else how it changes the plan's structure (``optional``, ``repeat``, ``limit``)."""

    name: str
    default: float
    domain: tuple[float, ...]
    description: str
    effect: str = "value"

    @property
    def structural(self) -> bool:
        return self.effect != "value"


@dataclass(frozen=True)
class Interface:
    """A typed agent interface: ``scene_detection(video VIDEO) -> LIST<SCENE>``."""

    name: str
    description: str
    params: tuple[InterfaceParam, ...]
    output: Type
    cardinality: str
    output_attrs: tuple[tuple[str, str], ...]
    partitionable: bool
    examples: str
    knobs: tuple[Knob, ...]
    splittable: bool = False
    samplable: bool = False

    def knob(self, name: str) -> Knob | None:
        return next((k for k in self.knobs if k.name == name), None)

    def signature(self) -> str:
        args = ", ".join(f"{p.name} {p.type}{'...' if p.variadic else ''}" for p in self.params)
        return f"{self.name}({args}) -> {self.output}"


@dataclass(frozen=True)
class Agent:
    name: str
    interface: str
    kind: str
    model: str
    description: str
    quality: float
    quality_source: str
    baseline: bool
    serving_model: str = ""
    # The environment variable holding the agent's API key ('' = none): a name, never a key.
    api_key_env: str = ""


@dataclass(frozen=True)
class Hardware:
    """One unit of hardware: a GPU or a CPU core; power and price are per unit."""

    name: str
    kind: str
    description: str
    memory_gb: float
    active_w: float
    idle_w: float
    usd_per_hour: float
    source: str

    @property
    def is_gpu(self) -> bool:
        return self.kind == "gpu"


@dataclass(frozen=True)
class ClusterNode:
    node: str
    count: int
    hardware: str
    units: int


@dataclass(frozen=True)
class Cluster:
    name: str
    description: str
    nodes: tuple[ClusterNode, ...]

    def machines(self) -> tuple[tuple[str, dict[str, int]], ...]:
        """Each machine as (machine id, {hardware: units}), in a stable order."""
        per_node: dict[str, dict[str, int]] = {}
        counts: dict[str, int] = {}
        for n in self.nodes:
            per_node.setdefault(n.node, {})[n.hardware] = n.units
            counts[n.node] = n.count
        out = []
        for node in sorted(per_node):
            for i in range(counts[node]):
                out.append((f"{node}#{i}", dict(sorted(per_node[node].items()))))
        return tuple(out)

    def capacity(self, hardware: str) -> int:
        return sum(n.count * n.units for n in self.nodes if n.hardware == hardware)

    def hardware_names(self) -> tuple[str, ...]:
        return tuple(sorted({n.hardware for n in self.nodes}))


@dataclass(frozen=True)
class Profile:
    """Latency model of one agent instance on ``units`` units of ``hardware``."""

    agent: str
    hardware: str
    units: int
    setup_s: float
    per_item_s: float
    per_media_s: float
    utilisation: float
    source: str
    serial_fraction: float = 0.05
    # The frame rate per_media_s holds at, for an agent that decodes every frame (scene
    # detection, whole-scene decoding); None: its time does not depend on the frame rate.
    media_fps: float | None = None

    def call_seconds(self, media_s: float, fps: float | None = None) -> float:
        """Seconds for one call on an item carrying ``media_s`` seconds of audio/video at
        ``fps`` frames per second (None or 0: the profile's own rate)."""
        return self.per_item_s + self.per_media_s * media_s * self.fps_scale(fps)

    def fps_scale(self, fps: float | None) -> float:
        """How much longer each media second takes at ``fps`` than where it was profiled."""
        return fps / self.media_fps if self.media_fps and fps else 1.0

    @property
    def provenance(self) -> str:
        """published, derived, measured, interpolated or default."""
        return self.source.split(":", 1)[0]


@dataclass(frozen=True)
class CurvePoint:
    """One point of an LLM serving instance's latency against offered load."""

    model: str
    hardware: str
    tp: int
    offered_tps: float
    ttft_s: float
    tpot_s: float
    source: str


@dataclass(frozen=True)
class WorkflowTokens:
    """Completion tokens one request of a workflow configuration generates."""

    workflow: str
    model: str
    config: str
    tokens: float
    source: str


@dataclass(frozen=True)
class PowerPoint:
    """An LLM serving instance's measured power at one load (``energy_per_token``: joules
    per output token times the output tokens/s they were measured at)."""

    model: str
    hardware: str
    units: int
    output_tps: float
    watts: float  # all the instance's GPUs together
    source: str


@dataclass(frozen=True)
class LlmApi:
    """An LLM behind an external (OpenAI-compatible) API: no GPU, a price per million
    tokens, and a rate limit (tokens/s) that caps one endpoint's throughput."""

    model: str
    usd_per_mtok: float
    rate_limit_tps: float
    ttft_s: float
    tpot_s: float
    source: str


@dataclass(frozen=True)
class WorkflowQuality:
    workflow: str
    model: str
    config: str
    metric: str
    value: float
    source: str


def interpolate_profile(lo: Profile, hi: Profile, units: int) -> Profile:
    """A profile at ``units`` between two profiled unit counts of one agent and hardware.

    Times interpolate linearly in log(time) against log(units): a tool whose time halves
    with each doubling of units gives exactly that in between; setup and utilisation
    interpolate linearly in log(units).
    """
    assert lo.units < units < hi.units and (lo.agent, lo.hardware) == (hi.agent, hi.hardware)
    w = (math.log(units) - math.log(lo.units)) / (math.log(hi.units) - math.log(lo.units))

    def geo(a: float, b: float) -> float:
        return math.exp((1 - w) * math.log(a) + w * math.log(b)) if a > 0 and b > 0 else (1 - w) * a + w * b

    return Profile(
        lo.agent, lo.hardware, units, (1 - w) * lo.setup_s + w * hi.setup_s, geo(lo.per_item_s, hi.per_item_s),
        geo(lo.per_media_s, hi.per_media_s), (1 - w) * lo.utilisation + w * hi.utilisation,
        f"interpolated:between {lo.units} ({lo.provenance}) and {hi.units} ({hi.provenance}) units of "
        f"{lo.agent} on {lo.hardware}", (1 - w) * lo.serial_fraction + w * hi.serial_fraction,
        lo.media_fps if lo.media_fps == hi.media_fps else None,
    )


@dataclass(frozen=True)
class Statistic:
    key: str
    value: float
    unit: str
    source: str


@dataclass(frozen=True)
class Template:
    name: str
    description: str
    body: str


class CatalogError(ValueError):
    """A catalog file or seed row is invalid."""


def _seed_dir() -> Any:
    return resources.files(__package__).joinpath("seed")


def _migrations() -> list[tuple[int, str]]:
    """(number, SQL) of every migration in catalog/migrations, in order."""
    folder = resources.files(__package__).joinpath("migrations")
    out = []
    for entry in folder.iterdir():
        match = re.match(r"(\d{4})_.*\.sql$", entry.name)
        if match:
            out.append((int(match.group(1)), entry.read_text(encoding="utf-8")))
    return sorted(out)


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


# Given to duckdb.connect itself, so they hold before DuckDB reads the file: opening a
# file that is not DuckDB's (a SQLite database) otherwise makes DuckDB autoload, and
# first download over HTTP, the extension that reads it. Nothing in the catalog needs a
# file or an extension beyond itself, so user SQL (catalog sql, SHOW ... WHERE) cannot
# read_csv, COPY, ATTACH or INSTALL either.
HARDENED: dict[str, str | bool] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
    "allow_unsigned_extensions": False,
    "enable_external_access": False,
}

# Session settings (duckdb.connect refuses them as global options), then the lock that
# keeps every setting as it is: the progress bar DuckDB would draw on the user's terminal
# during a long query is off.
_SESSION = ("SET enable_progress_bar = false", "SET lock_configuration = true")

# How long a write waits for another process's lock on the file (a reader's `catalog sql`
# is stopped by its own timeout, by default 10 s, well inside this).
LOCK_WAIT_S = 30.0

_SQLITE_MAGIC = b"SQLite format 3\x00"


@dataclass(frozen=True)
class QueryLimits:
    """Bounds on one user query (``catalog sql``): wall-clock seconds, DuckDB's memory
    limit (e.g. '1GB'), worker threads, and the most rows an answer may have."""
    timeout_s: float = 10.0
    memory: str = "1GB"
    threads: int = 2
    max_rows: int = 100_000

    def duckdb_config(self) -> dict[str, str | int]:
        # No temp directory: a query over the limit fails instead of spilling to disk.
        return {"memory_limit": self.memory, "threads": self.threads, "temp_directory": ""}


def _damaged(exc: BaseException) -> str:
    """DuckDB's reason a file would not open or read, said plainly when it is damage."""
    why = _first_line(exc)
    if re.search(r"corrupt|checksum|could not read enough bytes|truncated", why, re.I):
        return f"the file is damaged (truncated or corrupted): {why}"
    return why


def _is_lock_error(exc: BaseException) -> bool:
    # DuckDB: "Could not set lock on file ...: Conflicting lock is held in ..." (not the
    # "block" of a damaged file's message).
    return re.search(r"\block\b", str(exc), re.I) is not None


@dataclass(frozen=True)
class Machine:
    node: str
    cores: int
    hardware: Hardware
    # This machine's NVIDIA GPUs (all of one model are assumed), when nvidia-smi finds any.
    gpus: int = 0
    gpu: Hardware | None = None


# A server core under load draws about its socket's TDP divided by its cores; with no
# reading for this machine, 10 W active and 2 W idle per core are stated defaults.
LOCAL_CORE_ACTIVE_W = 10.0
LOCAL_CORE_IDLE_W = 2.0
LOCAL_GPU = "local-gpu"
NVIDIA_SMI_QUERY = ("--query-gpu=index,name,memory.total,power.limit,power.draw", "--format=csv,noheader,nounits")


@functools.lru_cache(maxsize=1)
def this_machine() -> Machine:
    """This machine's CPU cores, and its NVIDIA GPUs if nvidia-smi finds any, as a
    one-node cluster."""
    cores = os.cpu_count() or 1
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        memory_gb = 0.0
    hw = Hardware("local-core", "cpu", f"one core of this machine ({model})", round(memory_gb, 1),
                  LOCAL_CORE_ACTIVE_W, LOCAL_CORE_IDLE_W, 0.0,
                  f"default:detected {cores} cores of {model}; power per core assumed; an owned machine costs $0/h")
    gpus, gpu = detect_gpus()
    return Machine(platform.node() or "this-machine", cores, hw, gpus, gpu)


def detect_gpus() -> tuple[int, Hardware | None]:
    """(count, one GPU as hardware) from nvidia-smi; (0, None) without it or any GPU."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return 0, None
    try:
        done = subprocess.run([smi, *NVIDIA_SMI_QUERY], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return 0, None
    return parse_nvidia_smi(done.stdout) if done.returncode == 0 else (0, None)


def parse_nvidia_smi(text: str) -> tuple[int, Hardware | None]:
    """Parse ``nvidia-smi --query-gpu=index,name,memory.total,power.limit,power.draw
    --format=csv,noheader,nounits``: one line per GPU (memory in MiB, power in W; a
    field the driver cannot read says ``[N/A]``)."""
    rows = [[field.strip() for field in line.split(",")] for line in text.splitlines() if line.strip()]
    rows = [r for r in rows if len(r) == 5 and r[0].isdigit()]
    if not rows:
        return 0, None

    def number(field: str) -> float | None:
        try:
            return float(field)
        except ValueError:
            return None

    name = rows[0][1]
    memory_mib = number(rows[0][2]) or 0.0
    limit = number(rows[0][3])
    draws = [d for d in (number(r[4]) for r in rows) if d is not None]
    # Active: the board's power limit (what it may draw flat out); idle: what the GPUs
    # draw when the catalog is opened, before murakkab runs anything on them.
    active_w = limit if limit else 300.0
    idle_w = min(sum(draws) / len(draws), active_w) if draws else 0.15 * active_w
    assumed = "" if limit and draws else "; power not readable, assumed"
    source = (f"default:detected by nvidia-smi: {len(rows)} x {name}; active = power limit, idle = draw when "
              f"the catalog was opened{assumed}; an owned machine costs $0/h")
    return len(rows), Hardware(LOCAL_GPU, "gpu", f"one GPU of this machine ({name})", round(memory_mib / 1024, 1),
                               round(active_w, 1), round(idle_w, 1), 0.0, source)


class Catalog:
    """The catalog API. ``Catalog()`` is an in-memory catalog loaded with the seed data;
    ``Catalog("path.duckdb")`` opens (creating and seeding it if new) a catalog file;
    ``read_only=True`` lets several processes read one file at once; ``limits`` bounds
    the connection's memory and threads (for user queries, see ``catalog.sql``).

    A read-write catalog holds the file's write lock while open, except inside
    :meth:`without_write_lock`, where it takes it only for :meth:`write_lock` blocks."""

    def __init__(self, path: str | Path | None = None, seed_dir: str | Path | None = None,
                 read_only: bool = False, limits: QueryLimits | None = None) -> None:
        self.path = str(path) if path else None
        self.read_only = bool(read_only and path)
        self.limits = limits
        self._attached: dict[str, Cluster] = {}
        self._attached_agents: dict[str, tuple[Agent, tuple[Profile, ...]]] = {}
        # Whether the connection holds the file's write lock (see without_write_lock).
        self._locked = not self.read_only
        self._db = self._open(read_only=self.read_only)
        try:
            version = self._schema_version()
            if version == 0:
                # A DuckDB file of someone else's: never written into (no murakkab tables
                # migrated into it), and said so, whatever the command.
                foreign = [r[0] for r in self._db.execute(
                    "SELECT table_name FROM information_schema.tables ORDER BY table_name LIMIT 4").fetchall()]
                if foreign:
                    raise CatalogError(f"{self.path} is a DuckDB file but not a murakkab catalog (it has tables "
                                       f"{', '.join(foreign[:3])}{', ...' if len(foreign) > 3 else ''})")
            if version < SCHEMA_VERSION:
                if self.read_only:
                    raise CatalogError(f"catalog {self.path} has schema version {version}, this murakkab needs "
                                       f"{SCHEMA_VERSION}: a command that writes it (murakkab run, catalog "
                                       "import or refit) migrates it first")
                self._migrate(version, Path(seed_dir) if seed_dir is not None else _seed_dir())
            if not self.read_only:
                self._register_this_machine()
            self._load_cache()
        except duckdb.Error as exc:
            # A damaged file opens and then fails on its first read (a bad checksum, a
            # truncated block): a located error, not a traceback.
            self._db.close()
            raise CatalogError(f"cannot read catalog {self.path or ':memory:'}: {_damaged(exc)}") from None
        except BaseException:
            # Release the file lock so the process can open the catalog again.
            self._db.close()
            raise

    def _connect(self, read_only: bool) -> duckdb.DuckDBPyConnection:
        config: dict[str, str | bool | int] = {**HARDENED, **(self.limits.duckdb_config() if self.limits else {})}
        try:
            db = duckdb.connect(self.path or ":memory:", read_only=read_only, config=config)
        except duckdb.Error as exc:
            raise CatalogError(f"cannot open catalog {self.path}: {self._why_unopenable(exc)}") from None
        for statement in _SESSION:
            db.execute(statement)
        return db

    def _why_unopenable(self, exc: duckdb.Error) -> str:
        """DuckDB's reason, or what the file is when DuckDB only says it cannot load a
        reader for it (a SQLite file asks for the sqlite extension, refused above)."""
        try:
            with open(self.path or "", "rb") as f:
                head = f.read(len(_SQLITE_MAGIC))
        except OSError:
            head = b""
        if head == _SQLITE_MAGIC:
            return "it is a SQLite database, not a DuckDB file"
        return _damaged(exc)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "Catalog":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the file lock ----------------------------------------------------------
    def _open(self, read_only: bool) -> duckdb.DuckDBPyConnection:
        """Open the file read-only or read-write, waiting up to LOCK_WAIT_S for other
        processes' locks (readers block a writer, a writer blocks everyone): a run
        records in moments, a reader's query stops at its timeout."""
        deadline = time.monotonic() + LOCK_WAIT_S
        while True:
            try:
                return self._connect(read_only=read_only)
            except CatalogError as exc:
                if not _is_lock_error(exc) or time.monotonic() >= deadline:
                    raise
                time.sleep(0.05)

    def _reconnect(self, read_only: bool) -> None:
        self._db.close()
        self._db = self._open(read_only)
        self._locked = not read_only

    @contextlib.contextmanager
    def without_write_lock(self) -> Iterator[None]:
        """For the block (a run), read the file through a read-only connection, so that
        other processes can read the catalog meanwhile; :meth:`write_lock` takes the
        lock back for each write. A no-op for an in-memory or read-only catalog."""
        if self.path is None or self.read_only or not self._locked:
            yield
            return
        self._reconnect(read_only=True)
        try:
            yield
        except BaseException:
            # Take the lock back if it is free, but never hide why the block failed.
            with contextlib.suppress(CatalogError):
                self._reconnect(read_only=False)
            raise
        self._reconnect(read_only=False)

    @contextlib.contextmanager
    def write_lock(self) -> Iterator[None]:
        """Hold the file's write lock for the block (inside :meth:`without_write_lock`;
        otherwise the catalog holds it already)."""
        if self._locked or self.path is None or self.read_only:
            yield
            return
        try:
            self._reconnect(read_only=False)
        except CatalogError as exc:
            raise MurakkabError(f"{exc}; nothing was written", None,
                                f"another process held the catalog for over {LOCK_WAIT_S:g} s; "
                                "rerun when it is done") from None
        try:
            yield
        finally:
            self._reconnect(read_only=True)

    # -- construction -----------------------------------------------------------
    def _schema_version(self) -> int:
        rows = self._db.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'catalog_meta'"
        ).fetchone()
        if not rows or not rows[0]:
            return 0
        row = self._db.execute("SELECT value FROM catalog_meta WHERE key = 'schema_version'").fetchone()
        return int(row[0]) if row else 0

    def _migrate(self, version: int, seed: Any) -> None:
        """Apply the migrations after ``version`` in one transaction; seed a new catalog."""
        with self.transaction():
            self._db.execute("CREATE TABLE IF NOT EXISTS catalog_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            for number, sql in _migrations():
                if number > version:
                    self._db.execute(sql)
            self._db.execute("INSERT OR REPLACE INTO catalog_meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
            if version == 0:
                self._seed(seed)
            else:
                for table, since in SEEDED_BY_MIGRATION.items():
                    path = seed.joinpath(f"{table}.csv")
                    if version < since and path.is_file():
                        self._insert_csv(table, path.read_text(encoding="utf-8"), missing_only=True)

    def _seed(self, seed: Any) -> None:
        for table in SEED_TABLES:
            path = seed.joinpath(f"{table}.csv")
            if path.is_file():
                self._insert_csv(table, path.read_text(encoding="utf-8"))
            if table == "hardware":
                # Seed profiles of the agents that run here refer to this machine's cores.
                self._upsert_local_hardware()
        templates = seed.joinpath("templates.job")
        if templates.is_file():
            self._insert_templates(templates.read_text(encoding="utf-8"))

    def _upsert_local_hardware(self, machine: Machine | None = None) -> None:
        machine = machine or this_machine()
        for hw in (machine.hardware, machine.gpu):
            if hw is None:
                continue
            # An upsert: profiles measured on this machine keep referencing the row.
            self._db.execute(
                "INSERT INTO hardware VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET "
                "kind = excluded.kind, description = excluded.description, memory_gb = excluded.memory_gb, "
                "active_w = excluded.active_w, idle_w = excluded.idle_w, "
                "usd_per_hour = excluded.usd_per_hour, source = excluded.source",
                [hw.name, hw.kind, hw.description, hw.memory_gb, hw.active_w, hw.idle_w, hw.usd_per_hour,
                 hw.source])

    def _register_this_machine(self) -> None:
        """The 'local' cluster: this machine's cores (and GPUs), detected at every start."""
        machine = this_machine()
        with self.transaction():
            self._db.execute("DELETE FROM clusters WHERE name = ?", [LOCAL_CLUSTER])
            self._upsert_local_hardware(machine)
            for hw, units in ((machine.hardware, machine.cores), (machine.gpu, machine.gpus)):
                if hw is not None and units > 0:
                    self._db.execute("INSERT INTO clusters VALUES (?, ?, 1, ?, ?, ?, ?)",
                                     [LOCAL_CLUSTER, machine.node, hw.name, units,
                                      "this machine, detected when the catalog was opened", hw.source])

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """All or nothing: a failure inside rolls every change back."""
        self._db.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def execute(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        """Run SQL built by the catalog package itself (never user text)."""
        return self._db.execute(sql, list(params)).fetchall()

    def columns(self, table: str) -> list[tuple[str, str, bool]]:
        """(name, DuckDB type, nullable) of each column of ``table``, in order."""
        rows = self._db.execute(
            "SELECT column_name, data_type, is_nullable = 'YES' FROM information_schema.columns "
            "WHERE table_name = ? ORDER BY ordinal_position", [table]).fetchall()
        return [(r[0], r[1], bool(r[2])) for r in rows]

    def reload(self) -> None:
        """Re-read the in-memory views after a write (import, profile, refit)."""
        self._load_cache()

    def _insert_csv(self, table: str, text: str, missing_only: bool = False) -> None:
        rows = list(csv.DictReader(line for line in text.splitlines() if not line.startswith("#")))
        if not rows:
            return
        columns = list(rows[0].keys())
        marks = ", ".join("?" for _ in columns)
        # An empty cell of a number column is NULL (media_fps of an agent it does not apply to).
        numeric = {name for name, kind, _ in self.columns(table) if kind != "VARCHAR"}
        values = [[None if r[c] == "" and c in numeric else r[c] for c in columns] for r in rows]
        try:
            verb = "INSERT OR IGNORE" if missing_only else "INSERT"
            self._db.executemany(f"{verb} INTO {table} ({', '.join(columns)}) VALUES ({marks})", values)
        except duckdb.Error as exc:
            raise CatalogError(f"seed table {table}: {exc}") from exc

    def _insert_templates(self, text: str) -> None:
        # The templates are CREATE WORKFLOW statements in the job language itself.
        from ..grammar import ast as job_ast
        from ..grammar.parser import parse

        script = parse(text, "catalog/seed/templates.job")
        for stmt in script.statements:
            if isinstance(stmt, job_ast.CreateWorkflow):
                body = stmt.span.text
                self._db.execute(
                    "INSERT INTO workflow_templates VALUES (?, ?, ?)", [stmt.name, stmt.description or "", body]
                )

    def _rows(self, query: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        return self._db.execute(query, list(params)).fetchall()

    def _load_cache(self) -> None:
        knobs: dict[str, list[Knob]] = {}
        for iface, knob, default, domain, desc, effect in self._rows(
            "SELECT interface, knob, default_value, domain, description, effect FROM interface_knobs "
            "ORDER BY interface, knob"
        ):
            values = tuple(float(v) for v in str(domain).split("|") if v.strip())
            if effect not in KNOB_EFFECTS:
                raise CatalogError(f"interface_knobs: knob {iface}.{knob} has effect {effect!r}; "
                                   f"one of {', '.join(KNOB_EFFECTS)}")
            knobs.setdefault(iface, []).append(Knob(knob, float(default), values, desc, effect))
        self._interfaces: dict[str, Interface] = {}
        for name, desc, inputs, output, card, attrs, part, examples, split, sample in self._rows(
            "SELECT name, description, inputs, output, cardinality, output_attrs, partitionable, examples, "
            "splittable, samplable FROM interfaces ORDER BY name"
        ):
            self._interfaces[name] = Interface(
                name, desc, _parse_params(inputs), parse_type(output), card,
                _parse_attrs(attrs), bool(part), examples, tuple(knobs.get(name, ())), bool(split), bool(sample),
            )
            expressions.names(card)
        self._agents: dict[str, Agent] = {
            r[0]: Agent(r[0], r[1], r[2], r[3], r[4], float(r[5]), r[6], bool(r[7]), r[8] or "", r[9] or "")
            for r in self._rows(
                "SELECT name, interface, kind, model, description, quality, quality_source, baseline, serving_model, "
                "api_key_env FROM agents ORDER BY name"
            )
        }
        self._hardware: dict[str, Hardware] = {
            r[0]: Hardware(r[0], r[1], r[2], float(r[3]), float(r[4]), float(r[5]), float(r[6]), r[7])
            for r in self._rows(
                "SELECT name, kind, description, memory_gb, active_w, idle_w, usd_per_hour, source "
                "FROM hardware ORDER BY name"
            )
        }
        clusters: dict[str, tuple[str, list[ClusterNode]]] = {}
        for name, node, count, hw, units, desc in self._rows(
            "SELECT name, node, node_count, hardware, units_per_node, description FROM clusters "
            "ORDER BY name, node, hardware"
        ):
            entry = clusters.setdefault(name, (desc, []))
            entry[1].append(ClusterNode(node, int(count), hw, int(units)))
        self._clusters = {n: Cluster(n, d, tuple(nodes)) for n, (d, nodes) in clusters.items()}
        self._clusters.update(self._attached)
        self._profiles: dict[str, tuple[Profile, ...]] = {}
        for r in self._rows(
            "SELECT agent, hardware, units, setup_s, per_item_s, per_media_s, utilisation, source, serial_fraction, "
            "media_fps FROM profiles ORDER BY agent, hardware, units"
        ):
            p = Profile(r[0], r[1], int(r[2]), float(r[3]), float(r[4]), float(r[5]), float(r[6]), r[7],
                        float(r[8]) if r[8] is not None else 0.05, float(r[9]) if r[9] else None)
            self._profiles[p.agent] = self._profiles.get(p.agent, ()) + (p,)
        for agent, profiles in self._attached_agents.values():
            if agent.name not in self._agents:  # a stored row wins (measured, refit, imported)
                self._agents[agent.name] = agent
                self._profiles[agent.name] = profiles
        # Every write reloads these views, so this index never goes stale.
        agents_of: dict[str, list[Agent]] = {}
        for agent in self._agents.values():
            agents_of.setdefault(agent.interface, []).append(agent)
        self._agents_of: dict[str, tuple[Agent, ...]] = {i: tuple(a) for i, a in agents_of.items()}
        self._options: dict[str, tuple[Profile, ...]] = {a: _with_interpolated(ps) for a, ps in self._profiles.items()}
        self._by_key = {(p.agent, p.hardware, p.units): p for ps in self._options.values() for p in ps}
        self._curves: dict[tuple[str, str, int], tuple[CurvePoint, ...]] = {}
        for r in self._rows("SELECT model, hardware, tp, offered_tps, ttft_s, tpot_s, source FROM llm_curves "
                            "ORDER BY model, hardware, tp, offered_tps"):
            point = CurvePoint(r[0], r[1], int(r[2]), float(r[3]), float(r[4]), float(r[5]), r[6])
            key = (point.model, point.hardware, point.tp)
            self._curves[key] = self._curves.get(key, ()) + (point,)
        self._power: dict[tuple[str, str, int], tuple[PowerPoint, ...]] = {}
        for r in self._rows("SELECT model, hardware, units, output_tps, joules_per_token, source FROM energy_per_token "
                            "WHERE output_tps > 0 ORDER BY model, hardware, units, output_tps"):
            pp = PowerPoint(r[0], r[1], int(r[2]), float(r[3]), float(r[3]) * float(r[4]), r[5])
            key = (pp.model, pp.hardware, pp.units)
            self._power[key] = self._power.get(key, ()) + (pp,)
        self._workflow_quality = tuple(
            WorkflowQuality(r[0], r[1], r[2], r[3], float(r[4]), r[5])
            for r in self._rows("SELECT workflow, model, config, metric, value, source FROM workflow_quality "
                                "ORDER BY ALL"))
        self._workflow_tokens = tuple(
            WorkflowTokens(r[0], r[1], r[2], float(r[3]), r[4])
            for r in self._rows("SELECT workflow, model, config, value, source FROM workflow_tokens "
                                "WHERE metric = 'completion_tokens_p50' ORDER BY ALL"))
        self._llm_apis = tuple(LlmApi(r[0], float(r[1]), float(r[2]), float(r[3]), float(r[4]), r[5])
                               for r in self._rows("SELECT model, usd_per_mtok, rate_limit_tps, ttft_s, tpot_s, "
                                                   "source FROM llm_apis ORDER BY model"))
        self._statistics = {
            r[0]: Statistic(r[0], float(r[1]), r[2], r[3])
            for r in self._rows("SELECT key, value, unit, source FROM statistics ORDER BY key")
        }
        self._templates = tuple(
            Template(*r) for r in self._rows("SELECT name, description, body FROM workflow_templates ORDER BY name")
        )

    # -- the API ----------------------------------------------------------------
    def interfaces(self) -> tuple[Interface, ...]:
        return tuple(self._interfaces.values())

    def interface(self, name: str) -> Interface | None:
        return self._interfaces.get(name)

    def agents(self, interface: str | None = None) -> tuple[Agent, ...]:
        if interface is None:
            return tuple(self._agents.values())
        return self._agents_of.get(interface, ())

    def agent(self, name: str) -> Agent | None:
        return self._agents.get(name)

    def hardware(self, name: str) -> Hardware | None:
        return self._hardware.get(name)

    def all_hardware(self) -> tuple[Hardware, ...]:
        return tuple(self._hardware.values())

    def cluster(self, name: str) -> Cluster | None:
        return self._clusters.get(name)

    def attach_cluster(self, cluster: Cluster) -> None:
        """Make a cluster known for this session only, not stored: what an executor is
        connected to (the Ray cluster's nodes, read when it connects)."""
        self._attached[cluster.name] = cluster
        self._clusters[cluster.name] = cluster

    def attach_agent(self, agent: Agent, profiles: tuple[Profile, ...]) -> None:
        """Make an agent and its profiles known for this session only, not stored (an agent
        a user registered in Python that the catalog has no rows for); stored rows of the
        same name take precedence."""
        self._attached_agents[agent.name] = (agent, profiles)
        self._load_cache()

    def detach_agents(self, names: Iterable[str]) -> None:
        """Forget session-only agents (:meth:`attach_agent`)."""
        gone = [n for n in names if self._attached_agents.pop(n, None) is not None]
        if gone:
            self._load_cache()

    def attached_agents(self) -> tuple[str, ...]:
        return tuple(self._attached_agents)

    def clusters(self) -> tuple[Cluster, ...]:
        return tuple(self._clusters.values())

    def profiles(self, agent: str) -> tuple[Profile, ...]:
        """The profile rows stored for ``agent`` (published, derived, measured, default)."""
        return self._profiles.get(agent, ())

    def profile_options(self, agent: str) -> tuple[Profile, ...]:
        """Stored rows plus rows interpolated at the powers of two between stored unit counts."""
        return self._options.get(agent, ())

    def profile(self, agent: str, hardware: str, units: int) -> Profile | None:
        return self._by_key.get((agent, hardware, units))

    def llm_curve(self, model: str, hardware: str, tp: int) -> tuple[CurvePoint, ...]:
        """Points of a serving model's load curve, by offered load ascending (may be empty)."""
        return self._curves.get((model, hardware, tp), ())

    def workflow_quality(self, workflow: str | None = None) -> tuple[WorkflowQuality, ...]:
        return tuple(q for q in self._workflow_quality if workflow is None or q.workflow == workflow)

    def workflow_tokens(self, workflow: str | None = None) -> tuple[WorkflowTokens, ...]:
        return tuple(t for t in self._workflow_tokens if workflow is None or t.workflow == workflow)

    def llm_apis(self) -> tuple[LlmApi, ...]:
        return self._llm_apis

    def serving_power(self) -> dict[tuple[str, str, int], tuple[PowerPoint, ...]]:
        """Measured power against load of LLM serving instances, by (model, hardware,
        units), each curve by throughput ascending (rows without a throughput left out)."""
        return dict(self._power)

    def llm_curve_keys(self) -> tuple[tuple[str, str, int], ...]:
        """(model, hardware, tp) of every load curve, sorted."""
        return tuple(sorted(self._curves))

    def statistic(self, key: str) -> Statistic | None:
        return self._statistics.get(key)

    def statistics(self) -> tuple[Statistic, ...]:
        return tuple(self._statistics.values())

    def templates(self) -> tuple[Template, ...]:
        return self._templates

    def table(self, name: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Column names and rows of a catalog table, for SHOW (name from a fixed list)."""
        if name not in SEED_TABLES + ("workflow_templates",):
            raise CatalogError(f"no catalog table {name!r}")
        cur = self._db.execute(f"SELECT * FROM {name} ORDER BY ALL")
        return [d[0] for d in cur.description], cur.fetchall()

    def query(self, sql: str, params: Iterable[Any] = ()) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Run SQL that the caller has already built and checked (see ``murakkab.catalog.show``)."""
        cur = self._db.execute(sql, list(params))
        return [d[0] for d in cur.description], cur.fetchall()

    def query_rows(self, sql: str, most: int) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Like :meth:`query`, but fetch at most ``most`` rows: DuckDB streams the answer,
        so a huge one is never held in memory whole."""
        cur = self._db.execute(sql)
        return [d[0] for d in cur.description], cur.fetchmany(most)

    def interrupt(self) -> None:
        """Stop the statement running on the connection (from another thread)."""
        self._db.interrupt()


@functools.lru_cache(maxsize=1)
def default_catalog() -> Catalog:
    """The embedded, in-memory catalog (built once per process; it is read-only)."""
    return Catalog()


def _with_interpolated(rows: tuple[Profile, ...]) -> tuple[Profile, ...]:
    out = list(rows)
    by_hw: dict[str, list[Profile]] = {}
    for p in rows:
        by_hw.setdefault(p.hardware, []).append(p)
    for ps in by_hw.values():
        ps.sort(key=lambda p: p.units)
        for lo, hi in zip(ps, ps[1:]):
            units = 1
            while units < hi.units:
                if units > lo.units:
                    out.append(interpolate_profile(lo, hi, units))
                units *= 2
    return tuple(sorted(out, key=lambda p: (p.hardware, p.units)))


def _parse_params(text: str) -> tuple[InterfaceParam, ...]:
    out = []
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        name, _, typ = part.partition(" ")
        variadic = typ.strip().endswith("...")
        out.append(InterfaceParam(name.strip(), parse_type(typ.strip().removesuffix("...")), variadic))
    return tuple(out)


def _parse_attrs(text: str) -> tuple[tuple[str, str], ...]:
    out = []
    for part in (p.strip() for p in (text or "").split(";")):
        if part:
            key, _, expr = part.partition("=")
            expressions.names(expr)
            out.append((key.strip(), expr.strip()))
    return tuple(out)
