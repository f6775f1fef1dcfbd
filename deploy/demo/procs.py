"""The demo's child processes: each in its own process group, logged to a file, stopped in order.

A child gets its own process group so the terminal's Ctrl-C reaches only the orchestrator,
which then stops the children in a safe order (gates before the broker, so their events are
acked). Each child also gets SIGTERM from the kernel if the orchestrator dies (Linux
``PR_SET_PDEATHSIG``), so even a killed orchestrator leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

logger = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1
STOP_WAIT_S = 15.0
KILL_WAIT_S = 5.0


class ChildFailed(RuntimeError):
    """A child exited or did not become ready; the message names it and its log."""


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the orchestrator goes away."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG)")


@dataclass
class Child:
    """One running program of the demo."""

    name: str
    proc: asyncio.subprocess.Process
    log_path: Path
    log: IO[bytes]
    drain: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def pid(self) -> int:
        """The child's pid, which is also its process group id."""
        return self.proc.pid

    async def first_line(self, within: float) -> str:
        """The first line the child prints (READY, PTY ...), then its stdout goes to the log."""
        assert self.proc.stdout is not None
        try:
            async with asyncio.timeout(within):
                raw = await self.proc.stdout.readline()
        except TimeoutError:
            raise ChildFailed(
                f"{self.name}: no first line in {within} s; see {self.log_path}"
            ) from None
        if not raw:
            raise ChildFailed(f"{self.name} exited; see {self.log_path}")
        self.log.write(raw)
        self.log.flush()
        self.drain = asyncio.create_task(self._drain(), name=f"drain-{self.name}")
        return raw.decode("utf-8", "replace").strip()

    async def _drain(self) -> None:
        """Copy the rest of stdout to the log so the child never blocks on a full pipe."""
        assert self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            self.log.write(line)
            self.log.flush()


class Processes:
    """Starts children and stops them all, last started first."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.children: list[Child] = []

    async def start(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        stdout_pipe: bool = False,
    ) -> Child:
        """Start ``argv`` in a new process group; stderr (and stdout unless piped) to its log."""
        self.logs.mkdir(parents=True, exist_ok=True)
        log_path = self.logs / f"{name}.log"
        log = log_path.open("ab")
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE if stdout_pipe else log,
            stderr=log,
            env={**os.environ, **(env or {})},
            process_group=0,
            preexec_fn=_die_with_parent,  # only a prctl call: safe between fork and exec
        )
        child = Child(name, proc, log_path, log)
        self.children.append(child)
        logger.debug("started %s (pid %d): %s", name, proc.pid, " ".join(argv))
        return child

    def check_alive(self) -> None:
        """Raise if any child has exited on its own."""
        for child in self.children:
            if child.proc.returncode is not None:
                raise ChildFailed(
                    f"{child.name} exited with {child.proc.returncode}; see {child.log_path}"
                )

    async def stop(self, child: Child) -> int:
        """Ask the child to stop (SIGTERM); SIGKILL its group if it hangs.

        Signals go only to a group whose leader has not been reaped yet, so its id cannot
        have been reused by anyone else's process.
        """
        if child.proc.returncode is None:
            _signal_group(child.pid, signal.SIGTERM)
            try:
                async with asyncio.timeout(STOP_WAIT_S):
                    await child.proc.wait()
            except TimeoutError:
                logger.warning("%s did not stop in %.0f s: killing it", child.name, STOP_WAIT_S)
                _signal_group(child.pid, signal.SIGKILL)
                async with asyncio.timeout(KILL_WAIT_S):
                    await child.proc.wait()
        if child.drain is not None:
            await child.drain
        child.log.close()
        return child.proc.returncode if child.proc.returncode is not None else -1

    async def stop_named(self, prefix: str) -> None:
        """Stop every child whose name starts with ``prefix``, all at once."""
        chosen = [c for c in self.children if c.name.startswith(prefix)]
        await asyncio.gather(*(self.stop(c) for c in chosen))

    def kill_all_now(self) -> None:
        """Second Ctrl-C: SIGKILL every group at once, without waiting."""
        for child in self.children:
            if child.proc.returncode is None:
                _signal_group(child.pid, signal.SIGKILL)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):  # the group is already gone: nothing to do
        os.killpg(pgid, sig)


def venv_bin(program: str) -> str:
    """A console script of this virtualenv (the demo runs with the venv's python)."""
    return str(Path(sys.executable).with_name(program))
