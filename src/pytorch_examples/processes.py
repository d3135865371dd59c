"""Running a group of training processes from a page, with a time limit.

sphinx-gallery executes a page inside the build's own process, so a page that trains
with several processes starts them as a command (``torchrun``) rather than by forking
itself. :func:`run_command` does that safely: it waits at most a set time, kills every
process the command started if it runs over, and raises with the processes' own error
output if any of them fails. Used by
:ref:`sphx_glr_auto_examples_scale_plot_distributed_data_parallel.py` and
:ref:`sphx_glr_auto_examples_scale_plot_fsdp.py`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from pytorch_examples._checks import check_positive_float

__all__ = ["run_command"]


def run_command(command: Sequence[str], workdir: Path, *, timeout: float) -> str:
    """Run ``command`` in ``workdir`` and return what it printed.

    The command runs in a new process session, with one thread per process (the
    processes share the machine's cores), its temporary files in ``workdir``, and, on
    Linux, gloo's traffic on the loopback interface only.

    Parameters
    ----------
    command : sequence of str
        The program and its arguments, for example
        ``[sys.executable, "-m", "torch.distributed.run", "--nproc-per-node=2", ...]``.
    workdir : pathlib.Path
        The working directory, which also receives the processes' temporary files.
    timeout : float
        Seconds to wait before killing the command and every process it started.

    Returns
    -------
    str
        The command's standard output.

    Raises
    ------
    TimeoutError
        If the command ran over ``timeout``; its processes are killed first.
    RuntimeError
        If the command exited with an error; the message holds its error output.
    """
    timeout = check_positive_float("timeout", timeout)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TMPDIR": str(workdir)}
    if sys.platform.startswith("linux"):
        env["GLOO_SOCKET_IFNAME"] = "lo"  # nothing leaves the machine
    with subprocess.Popen(
        list(command),
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as process:
        try:
            output, errors = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # the launcher and all it started
            output, errors = process.communicate()
            raise TimeoutError(f"{list(command)} ran over {timeout} s:\n{errors}") from None
    if process.returncode != 0:
        raise RuntimeError(f"{list(command)} failed ({process.returncode}):\n{errors}")
    return output
