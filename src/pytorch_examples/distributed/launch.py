"""Starting a training script of this package from a page, and collecting its results.

:ref:`sphx_glr_auto_examples_scale_plot_distributed_data_parallel.py` explains how
``torchrun`` starts the processes; it and :ref:`sphx_glr_auto_examples_scale_plot_fsdp.py`
start their scripts with :func:`launch`, through
:func:`~pytorch_examples.processes.run_command`, which stops a run that hangs.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from pytorch_examples.processes import run_command

__all__ = ["Launch", "launch"]


@dataclass(frozen=True)
class Launch:
    """What one run of a training script left behind.

    Used by :doc:`/auto_examples/scale/plot_distributed_data_parallel`
    and :doc:`/auto_examples/scale/plot_fsdp`.

    Attributes
    ----------
    command : str
        The command as a reader would type it (``torchrun ...`` or ``python ...``).
    logs : list of list of str
        The lines each rank printed, by rank, in the order it printed them.
    reports : list of dict
        The report each rank saved, by rank.
    checkpoint : dict
        The ``state_dict`` rank 0 saved.
    """

    command: str
    logs: list[list[str]]
    reports: list[dict]
    checkpoint: dict


def launch(
    module: str,
    folder: Path,
    arguments: Sequence[str],
    *,
    n_processes: int | None,
    timeout: float,
) -> Launch:
    """Run ``python -m module --out folder arguments`` in ``n_processes`` processes.

    Used by :doc:`/auto_examples/scale/plot_distributed_data_parallel`
    and :doc:`/auto_examples/scale/plot_fsdp`.

    ``torchrun --standalone`` starts the processes on this machine, with this Python
    (``python -m torch.distributed.run`` is ``torchrun``); with ``n_processes=None`` the
    script runs as one ordinary process instead.

    Parameters
    ----------
    module : str
        The script, as a module name, e.g. ``"pytorch_examples.distributed.train_ddp"``.
    folder : pathlib.Path
        Where the script writes its checkpoint and reports; it must not exist yet. The
        command runs in its parent folder.
    arguments : sequence of str
        The script's other options.
    n_processes : int or None
        Processes to start, or None for one process without ``torchrun``.
    timeout : float
        Seconds after which the run is stopped and :class:`TimeoutError` raised.

    Returns
    -------
    Launch
        The command, the output by rank, the reports and the checkpoint.
    """
    folder.mkdir()
    script = ["-m", module, "--out", folder.name, *arguments]
    launcher = ["python"]
    if n_processes is not None:
        launcher = ["torchrun", "--standalone", f"--nproc-per-node={n_processes}"]
    command = [sys.executable, *launcher[1:], *script]
    if n_processes is not None:
        command[1:1] = ["-m", "torch.distributed.run"]  # torchrun, with this Python
    output = run_command(command, folder.parent, timeout=timeout).splitlines()
    ranks = range(n_processes or 1)
    return Launch(
        command=" ".join([*launcher, *script]),
        logs=[[line for line in output if line.startswith(f"[rank {rank}]")] for rank in ranks],
        reports=[torch.load(folder / f"report_rank{r}.pt", weights_only=True) for r in ranks],
        checkpoint=torch.load(folder / "checkpoint.pt", weights_only=True),
    )
