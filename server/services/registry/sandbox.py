"""Reading a register file in a worker process with its own memory, CPU and time limits.

Parsing a spreadsheet is CPU-bound work whose cost the file's author chooses. Run on the
server's event loop it stops the UI, the API and MQTT ingest for as long as it takes; run in the
server's process it can take the server's memory. So ``read_register`` starts a fresh Python
(``python -I -m server.services.registry.sandbox FILE MEMORY SECONDS``, no fork of the threaded
server) that limits itself (``RLIMIT_AS``, ``RLIMIT_CPU``, no core file) before it opens the
file, reads it with server.services.registry.spreadsheet and writes the recognised columns as
JSON to its stdout. The caller awaits it without blocking the loop, reads at most
MAX_TABLE_BYTES of its answer, and kills it when the wall-clock limit passes. At most
``workers`` files are read at once per process; another one is refused as busy (409).

Whatever happens in the worker reaches the caller as a coded service error (see
server.services.registry.file_limits): its own refusals as they were raised, running out of
memory as ``worker_memory``, out of time as ``worker_time`` (both 413), anything else as
``unreadable`` (422). The worker prints nothing else, so no cell text reaches a log.
"""

from __future__ import annotations

import asyncio
import logging
import os
import resource
import sys
from dataclasses import dataclass
from pathlib import Path

import msgspec

from server.services.errors import Conflict, Invalid, ServiceError, TooLarge
from server.services.registry.file_limits import (
    MAX_TABLE_BYTES,
    MB,
    Problem,
    refused,
    too_large,
)
from server.services.registry.spreadsheet import Table

logger = logging.getLogger(__name__)

EXIT_MEMORY = 3
_running = 0  # workers started by this process and not yet finished


@dataclass(frozen=True, slots=True)
class Limits:
    """What one worker may use, and how many may run at once."""

    memory_bytes: int
    seconds: int
    workers: int


class _Answer(msgspec.Struct, forbid_unknown_fields=True):
    """What the worker writes: the table, or the code of its refusal."""

    columns: dict[str, int] = {}
    rows: list[tuple[int, list[str]]] = []
    code: str | None = None
    message: str = ""
    values: dict[str, int | str] = {}
    too_large: bool = False


async def read_register(path: Path, limits: Limits) -> Table:
    """The register's table, read by a limited worker; a coded service error if refused."""
    global _running  # noqa: PLW0603 - one count per process, the loop's thread only
    if _running >= limits.workers:
        raise Conflict("another register file is being read; try again", code=Problem.BUSY.value)
    _running += 1
    try:
        return await _run(path, limits)
    finally:
        _running -= 1


async def _run(path: Path, limits: Limits) -> Table:
    """Start the worker, collect its answer within the time limit, and kill it on overrun."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-I",
        "-m",
        __name__,
        str(path),
        str(limits.memory_bytes),
        str(limits.seconds),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env=_worker_environment(),
    )
    try:
        out, status = await asyncio.wait_for(_collect(process), limits.seconds)
    except TimeoutError:
        s = limits.seconds
        raise too_large(Problem.WORKER_TIME, f"reading took more than {s} s", s=s) from None
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return _decode(out, status, limits)


async def _collect(process: asyncio.subprocess.Process) -> tuple[bytes, int]:
    """The worker's whole answer (at most MAX_TABLE_BYTES) and its exit status."""
    assert process.stdout is not None
    out = bytearray()
    while chunk := await process.stdout.read(1024 * 1024):
        out += chunk
        if len(out) > MAX_TABLE_BYTES:
            raise _table_too_large()
    return bytes(out), await process.wait()


def _worker_environment() -> dict[str, str]:
    """The server's environment, with openpyxl told to parse through defusedxml."""
    return {**os.environ, "OPENPYXL_DEFUSEDXML": "True"}


def _table_too_large() -> TooLarge:
    mb = MAX_TABLE_BYTES // MB
    return too_large(Problem.TABLE_TOO_LARGE, f"the table is larger than {mb} MB", mb=mb)


def _decode(out: bytes, status: int, limits: Limits) -> Table:
    """The worker's answer as a Table, or the error it stands for."""
    if status == EXIT_MEMORY:
        mb = limits.memory_bytes // MB
        raise too_large(Problem.WORKER_MEMORY, f"reading needs more than {mb} MB", mb=mb)
    if status < 0:  # killed by a signal: SIGXCPU or SIGKILL at the CPU limit
        s = limits.seconds
        raise too_large(Problem.WORKER_TIME, f"reading took more than {s} s", s=s)
    try:
        answer = msgspec.json.decode(out, type=_Answer)
    except msgspec.DecodeError:
        answer = None
    if status != 0 or answer is None:
        logger.warning("the register worker failed (exit status %d)", status)
        raise refused(Problem.UNREADABLE, "the file cannot be read")
    if answer.code is not None:
        error = TooLarge if answer.too_large else Invalid
        raise error(answer.message, code=answer.code, **answer.values)
    return Table(columns=answer.columns, rows=answer.rows)


def _limit_self(memory_bytes: int, seconds: int) -> None:
    """The worker's own limits, set before it opens the file."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 1))


def _answer(path: Path) -> _Answer:
    """Read the file into an answer; a service error becomes a coded refusal."""
    from server.services.registry.spreadsheet import read_table

    try:
        table = read_table(path)
    except ServiceError as exc:
        is_large = isinstance(exc, TooLarge)
        return _Answer(code=exc.code, message=str(exc), values=exc.values, too_large=is_large)
    except MemoryError:
        raise
    except Exception as exc:
        kind = type(exc).__name__
        return _Answer(code=Problem.UNREADABLE.value, message=f"cannot be read: {kind}")
    return _Answer(columns=table.columns, rows=table.rows)


def main(argv: list[str]) -> int:
    """The worker: limit itself, read the file, write the answer; exit 3 when out of memory."""
    path, memory, seconds = Path(argv[0]), int(argv[1]), int(argv[2])
    import defusedxml  # noqa: F401 - loaded before the limits, as openpyxl will use it
    import openpyxl  # noqa: F401

    _limit_self(memory, seconds)
    try:
        out = msgspec.json.encode(_answer(path))
        if len(out) > MAX_TABLE_BYTES:
            exc = _table_too_large()
            out = msgspec.json.encode(
                _Answer(code=exc.code, message=str(exc), values=exc.values, too_large=True)
            )
        sys.stdout.buffer.write(out)
        sys.stdout.buffer.flush()
    except MemoryError:
        os._exit(EXIT_MEMORY)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
