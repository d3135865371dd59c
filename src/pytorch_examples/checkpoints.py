"""Saving a checkpoint so that a crash during the save cannot destroy the previous one.

:ref:`sphx_glr_auto_examples_scale_plot_checkpoints.py` teaches :func:`save_atomically`
and shows its code; :ref:`sphx_glr_auto_examples_scale_plot_resume_training.py` and the
distributed training scripts (:mod:`pytorch_examples.distributed`) save with it.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

__all__ = ["save_atomically"]


def save_atomically(state: object, path: Path) -> None:
    """Save ``state`` with :func:`torch.save` so that ``path`` is never half written.

    Taught on :doc:`/auto_examples/scale/plot_checkpoints`.

    The state goes to a temporary file beside ``path``, is flushed to the disk, and the
    file is renamed over ``path`` in one step (:func:`os.replace`). If anything fails
    on the way, an error or an interrupt, the temporary file is removed and ``path``
    still holds what it held before.

    Parameters
    ----------
    state : object
        What to save, for example a dict of ``state_dict`` objects and tensors.
    path : pathlib.Path
        The checkpoint file; its folder must exist.
    """
    path = Path(path)
    temporary = path.with_name(path.name + ".tmp")
    try:
        with open(temporary, "wb") as file:
            torch.save(state, file)
            file.flush()
            os.fsync(file.fileno())  # the bytes are on the disk before the rename
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
