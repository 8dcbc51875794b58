"""PostgreSQL doing the same deposit, transfer and batch, for comparison.

A throwaway cluster (initdb in a temp dir, the server on a loopback port,
run as the `postgres` user when we are root), fsync and synchronous_commit
on, Debian's package installed with apt-get if no initdb is found. The
schema mirrors the ledger: an account row with its balance and history
count, one history row per movement, one row per transfer (its id unique),
one row per batch (its id unique) and a transfer row per batch item.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from runtime.poll import polls_async
from runtime.process import die_with_parent

HOST = "127.0.0.1"
START_TIMEOUT_S = 30.0

SCHEMA = """
CREATE TABLE accounts (id text PRIMARY KEY, available bigint NOT NULL CHECK (available >= 0),
                       history_count integer NOT NULL);
CREATE TABLE history (account text NOT NULL, seq integer NOT NULL, kind text NOT NULL,
                      asset text NOT NULL, amount bigint NOT NULL, ref text,
                      at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (account, seq));
CREATE TABLE transfers (id text PRIMARY KEY, source text NOT NULL, target text NOT NULL,
                        amount bigint NOT NULL, status text NOT NULL);
CREATE TABLE batches (id text PRIMARY KEY);
"""

# One statement, one commit: the balance, the history count and its record.
DEPOSIT = """
WITH a AS (UPDATE accounts SET available = available + $2, history_count = history_count + 1
           WHERE id = $1 RETURNING id, history_count)
INSERT INTO history (account, seq, kind, asset, amount) SELECT id, history_count, 'deposit', 'USD', $2 FROM a
"""


class PostgresUnavailable(RuntimeError):
    pass


def _bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    if shutil.which("initdb"):
        return Path(shutil.which("initdb")).resolve().parent
    if os.geteuid() != 0:
        raise PostgresUnavailable("PostgreSQL is not installed; as root: apt-get install -y postgresql")
    print("installing PostgreSQL (apt-get install -y postgresql) ...", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.STDOUT, "env": env}
    if subprocess.run(["apt-get", "install", "-y", "postgresql"], **quiet).returncode != 0:
        subprocess.run(["apt-get", "update"], check=True, **quiet)
        subprocess.run(["apt-get", "install", "-y", "postgresql"], check=True, **quiet)
    return _bin_dir()


@dataclass
class Postgres:
    workdir: Path
    port: int
    bin_dir: Path
    version: str = ""
    _proc: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def dsn(self) -> str:
        return f"postgresql://bench@{HOST}:{self.port}/postgres"

    def _run_as(self) -> dict:
        # initdb and postgres refuse to run as root.
        if os.geteuid() != 0:
            return {}
        return {"user": "postgres", "group": pwd.getpwnam("postgres").pw_gid}

    def start(self) -> None:
        data = self.workdir / "data"
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.workdir, user.pw_uid, user.pw_gid)
        subprocess.run([str(self.bin_dir / "initdb"), "-D", str(data), "-U", "bench", "-A", "trust",
                        "-E", "UTF8", "--no-sync"], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.STDOUT, cwd=self.workdir, **self._run_as())
        self.version = (data / "PG_VERSION").read_text().strip()
        log = open(self.workdir / "postgres.log", "ab")
        self._proc = subprocess.Popen(
            [str(self.bin_dir / "postgres"), "-D", str(data), "-p", str(self.port),
             "-c", f"listen_addresses={HOST}", "-c", f"unix_socket_directories={self.workdir}",
             "-c", "fsync=on", "-c", "synchronous_commit=on", "-c", "max_connections=100"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.workdir,
            process_group=0, preexec_fn=die_with_parent, **self._run_as())
        log.close()

    async def wait_ready(self) -> None:
        problem: BaseException | None = None
        async for _ in polls_async(START_TIMEOUT_S, interval_s=0.1):
            try:
                conn = await asyncpg.connect(self.dsn, timeout=2)
            except (OSError, asyncpg.PostgresError) as error:
                problem = error
                if self._proc.poll() is not None:
                    break  # it exited: no use waiting
                continue
            await conn.close()
            return
        log = (self.workdir / "postgres.log").read_text(errors="replace")[-2000:]
        raise PostgresUnavailable(f"postgres did not start: {problem}\n{log}") from problem

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            os.killpg(self._proc.pid, signal.SIGINT)  # fast shutdown
            try:
                self._proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self._proc.pid, signal.SIGKILL)
                self._proc.wait()
        shutil.rmtree(self.workdir, ignore_errors=True)


async def start(port: int) -> Postgres:
    pg = Postgres(Path(tempfile.mkdtemp(prefix="ledger-bench-pg-")), port, _bin_dir())
    try:
        pg.start()
        await pg.wait_ready()
    except BaseException:
        pg.stop()
        raise
    return pg


async def load_accounts(pg: Postgres, accounts: list[str], funds_minor: int) -> None:
    conn = await asyncpg.connect(pg.dsn)
    try:
        await conn.execute(SCHEMA)
        await conn.copy_records_to_table("accounts", records=[(a, funds_minor, 1) for a in accounts],
                                         columns=["id", "available", "history_count"])
        await conn.copy_records_to_table("history", records=[(a, 1, "deposit", "USD", funds_minor)
                                                             for a in accounts],
                                         columns=["account", "seq", "kind", "asset", "amount"])
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


async def deposit(conn: asyncpg.Connection, account: str, amount_minor: int) -> None:
    status = await conn.execute(DEPOSIT, account, amount_minor)
    if status != "INSERT 0 1":
        raise RuntimeError(f"deposit to {account}: {status}")


async def transfer(conn: asyncpg.Connection, transfer_id: str, source: str, target: str,
                   amount_minor: int) -> None:
    """Lock both rows in id order (no deadlock), check, move, record."""
    async with conn.transaction():
        fresh = await conn.fetchval(
            "INSERT INTO transfers VALUES ($1, $2, $3, $4, 'COMPLETED') ON CONFLICT DO NOTHING RETURNING 1",
            transfer_id, source, target, amount_minor)
        if fresh is None:
            return  # the same id again: done once already
        rows = await conn.fetch("SELECT id, available FROM accounts WHERE id = ANY($1::text[]) "
                                "ORDER BY id FOR UPDATE", [source, target])
        available = {r["id"]: r["available"] for r in rows}
        if len(available) != 2 or available[source] < amount_minor:
            raise RuntimeError(f"transfer {transfer_id} refused")
        seqs = await conn.fetch(
            "UPDATE accounts SET available = available + CASE WHEN id = $1 THEN -$3::bigint ELSE $3::bigint END,"
            " history_count = history_count + 1 WHERE id IN ($1, $2) RETURNING id, history_count",
            source, target, amount_minor)
        seq = {r["id"]: r["history_count"] for r in seqs}
        await conn.execute(
            "INSERT INTO history (account, seq, kind, asset, amount, ref) VALUES "
            "($1, $3, 'debit', 'USD', $5, $6), ($2, $4, 'credit', 'USD', $5, $6)",
            source, target, seq[source], seq[target], amount_minor, transfer_id)


async def batch(conn: asyncpg.Connection, batch_id: str, items: list[tuple[str, str, str, int]]) -> None:
    """A batch of (id, source, target, amount) transfers in one transaction,
    with the ledger's semantics (ledger/batch.py): every source debits its
    items in order against what it had before the batch's credits; an item
    it cannot pay is FAILED. Its accounts are locked in id order; the
    balances, the items and their history are written a statement each."""
    async with conn.transaction():
        if await conn.fetchval("INSERT INTO batches VALUES ($1) ON CONFLICT DO NOTHING RETURNING 1",
                               batch_id) is None:
            return  # the same id again: done once already
        accounts = sorted({a for _, source, target, _ in items for a in (source, target)})
        rows = await conn.fetch("SELECT id, available, history_count FROM accounts WHERE id = ANY($1::text[]) "
                                "ORDER BY id FOR UPDATE", accounts)
        available = {r["id"]: r["available"] for r in rows}
        seq = {r["id"]: r["history_count"] for r in rows}
        paid = []
        for item in items:  # every debit, in item order, before any credit
            _, source, target, amount = item
            if source in available and target in available and available[source] >= amount:
                available[source] -= amount
                paid.append(item)
        history = []
        for item_id, source, target, amount in paid:
            seq[source] += 1
            history.append((source, seq[source], "debit", amount, f"{batch_id}:{item_id}"))
        for item_id, source, target, amount in paid:
            available[target] += amount
            seq[target] += 1
            history.append((target, seq[target], "credit", amount, f"{batch_id}:{item_id}"))
        await conn.execute(
            "UPDATE accounts a SET available = v.available, history_count = v.seq FROM "
            "unnest($1::text[], $2::bigint[], $3::int[]) AS v(id, available, seq) WHERE a.id = v.id",
            list(available), list(available.values()), [seq[a] for a in available])
        done = {item[0] for item in paid}
        await conn.execute(
            "INSERT INTO transfers SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[])",
            [f"{batch_id}:{i}" for i, *_ in items], [s for _, s, _, _ in items], [t for _, _, t, _ in items],
            [a for *_, a in items], ["COMPLETED" if i in done else "FAILED" for i, *_ in items])
        if history:
            await conn.execute(
                "INSERT INTO history (account, seq, kind, asset, amount, ref) SELECT a, s, k, 'USD', m, r "
                "FROM unnest($1::text[], $2::int[], $3::text[], $4::bigint[], $5::text[]) AS h(a, s, k, m, r)",
                *(list(column) for column in zip(*history)))
