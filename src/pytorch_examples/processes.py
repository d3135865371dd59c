"""Running a group of training processes from a page, with a time limit.

sphinx-gallery executes a page inside the build's own process, so a page that trains
with several processes starts them as a command (``torchrun``) rather than by forking
itself. :func:`run_command` does that safely: it waits at most a set time, stops every
process the command started if it runs over, and raises with the processes' own error
output if any of them fails. :func:`pytorch_examples.distributed.launch.launch` starts
the training scripts of :ref:`sphx_glr_auto_examples_scale_plot_distributed_data_parallel.py`
and :ref:`sphx_glr_auto_examples_scale_plot_fsdp.py` with it.

Stopping a hung ``torchrun`` takes more than killing its process group: it starts each
worker in a session of its own, so the workers are in no group of the launcher's, and
they keep its output pipes open. Every process the command starts therefore inherits a
marker in its environment, by which the processes are found again on Linux, even after
the launcher has died and they have been re-parented.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from pytorch_examples._checks import check_positive_float

__all__ = ["GRACE_S", "run_command"]

GRACE_S = 5.0
"""Seconds a timed-out command gets to stop by itself before it is killed."""

_MARKER = "PYTORCH_EXAMPLES_LAUNCH"  # the environment variable that marks a launch
_PROC = Path("/proc")


def run_command(
    command: Sequence[str], workdir: Path, *, timeout: float, grace: float = GRACE_S
) -> str:
    """Run ``command`` in ``workdir`` and return what it printed.

    Used by :doc:`/auto_examples/scale/plot_distributed_data_parallel`
    and :doc:`/auto_examples/scale/plot_fsdp`, through
    :func:`pytorch_examples.distributed.launch.launch`.

    The command runs in a new process session, with one thread per process (the
    processes share the machine's cores), its temporary files in ``workdir``, and, on
    Linux, gloo's traffic on the loopback interface only. No wait is without a time
    limit, so the call returns within about ``timeout + 3 * grace`` seconds.

    Parameters
    ----------
    command : sequence of str
        The program and its arguments, for example
        ``[sys.executable, "-m", "torch.distributed.run", "--nproc-per-node=2", ...]``.
    workdir : pathlib.Path
        The working directory, which also receives the processes' temporary files.
    timeout : float
        Seconds to wait for the command to finish.
    grace : float, optional
        Seconds a command that ran over gets to stop after ``SIGTERM`` (``torchrun``
        passes the signal on to its workers and waits for them) before every process
        it started is killed.

    Returns
    -------
    str
        The command's standard output.

    Raises
    ------
    TimeoutError
        If the command ran over ``timeout``; its processes are stopped first: on Linux
        every one of them, elsewhere the launcher's process group.
    RuntimeError
        If the command exited with an error; the message holds its error output.
    """
    timeout = check_positive_float("timeout", timeout)
    grace = check_positive_float("grace", grace)
    token = secrets.token_hex(8)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TMPDIR": str(workdir), _MARKER: token}
    if sys.platform.startswith("linux"):
        env["GLOO_SOCKET_IFNAME"] = "lo"  # nothing leaves the machine
    process = subprocess.Popen(
        list(command),
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        output, errors = process.communicate(timeout=timeout)
    except BaseException as error:  # a timeout, or an interrupt of the page
        errors = _stop(process, token, grace)
        if isinstance(error, subprocess.TimeoutExpired):
            raise TimeoutError(f"{list(command)} ran over {timeout} s:\n{errors}") from None
        raise
    if process.returncode != 0:
        raise RuntimeError(f"{list(command)} failed ({process.returncode}):\n{errors}")
    return output


def _stop(process: subprocess.Popen, token: str, grace: float) -> str:
    """Stop ``process`` and everything it started; return its error output.

    Parameters
    ----------
    process : subprocess.Popen
        The launcher, started by :func:`run_command` with pipes for its output.
    token : str
        The value of ``_MARKER`` in the environment of the launch's processes.
    grace : float
        Seconds to wait at each step: for a clean exit after ``SIGTERM``, for the
        killing, and for the pipes to close.

    Returns
    -------
    str
        The error output, or a note that it could not be read.
    """
    process.terminate()
    try:
        errors = process.communicate(timeout=grace)[1]
    except subprocess.TimeoutExpired:
        errors = None
    # Even after a clean exit: a worker that wrote elsewhere may outlive the launcher.
    _kill_launch(process.pid, token, grace)
    if errors is None:
        try:
            errors = process.communicate(timeout=grace)[1]
        except subprocess.TimeoutExpired:  # a process we could not find holds the pipes
            process.stdout.close()
            process.stderr.close()
            errors = "(error output not read: an unknown process still holds the pipes)"
    process.wait(timeout=grace)  # the launcher has been killed; this only reaps it
    return errors


def _kill_launch(launcher: int, token: str, grace: float) -> None:
    """Kill the launcher's process group and, on Linux, every process of the launch.

    On Linux the search and the kill are repeated until no process of the launch is
    left or ``grace`` seconds have passed.

    Parameters
    ----------
    launcher : int
        The launcher's process id, which is also its process group's id.
    token : str
        The value of ``_MARKER`` in the environment of the launch's processes.
    grace : float
        Seconds to keep looking for processes to kill.
    """
    with contextlib.suppress(ProcessLookupError):
        os.killpg(launcher, signal.SIGKILL)
    if not sys.platform.startswith("linux"):
        return  # without Linux's /proc, the process group is all we can find
    deadline = time.monotonic() + grace
    # A process may start a child between a search and the kill: search again.
    while (pids := _launch_processes(token)) and time.monotonic() < deadline:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):  # it ended since the search
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)


def _launch_processes(token: str) -> set[int]:
    """Find the live processes of a launch, from ``/proc``.

    A process belongs to the launch if its environment holds ``_MARKER=token``, which
    every process inherits unless it is started with an environment of its own, or if
    it descends from such a process. Processes that have died but are not yet reaped
    (zombies) are left out: they hold nothing open and cannot be killed.

    Parameters
    ----------
    token : str
        The value of ``_MARKER`` in the environment of the launch's processes.

    Returns
    -------
    set of int
        Their process ids.
    """
    marker = f"{_MARKER}={token}".encode()
    parents, marked = {}, set()
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            stat = (entry / "stat").read_text()
        except OSError:  # gone already, or another user's
            continue
        # After the name in brackets: the state, then the parent's process id.
        state, parent = stat.rsplit(")", 1)[1].split()[:2]
        if state in "ZX":
            continue
        pid = int(entry.name)
        parents[pid] = int(parent)
        if marker in environ.split(b"\0"):
            marked.add(pid)
    found, added = set(marked), marked
    while added:
        added = {pid for pid, parent in parents.items() if parent in added} - found
        found |= added
    return found
