r"""
Exercises: training runs that survive and scale
===============================================

Four exercises on this section's pages, from a few lines to a function you write
whole. Each leaves a function blank: its body is ``raise NotImplementedError``, and the
comment above it says what to write. Replace that line with your code and run the
cell below it, which checks your function on inputs you have not seen and prints one
line: ``passed``, ``not done yet``, or what went wrong (the input, what was expected,
what came back, and often the mistake that gives it). The checks simulate the ranks
of a distributed run within this process, and write checkpoints to a temporary
folder they remove; nothing starts a process.

Stuck? ``ex.NAME.hint()`` prints a hint; on the site, the *Hint* and *Solution* boxes
below each check open when clicked. Try first: the check tells you more than the
solution does.
"""

# %%
# Setup
# -----
from pathlib import Path

import torch
from torch import nn

from pytorch_examples.exercises import scale as ex

# %%
# 1. Averaging gradients across ranks
# -----------------------------------
# *Practises* :doc:`what DDP does after the backward pass
# <plot_distributed_data_parallel>`. ``replicas`` are copies of one model, one per
# rank, each holding in ``.grad`` the gradient of the mean loss on its own equal share
# of a batch. Do what the all-reduce does: leave every replica's gradients equal to
# the average over the ranks. The check compares them with the gradient of the whole
# batch on one model.


def average_gradients(replicas: list) -> None:
    # Set each parameter's .grad, in every replica, to the mean over the replicas.
    raise NotImplementedError


# %%
ex.average_gradients.check(average_gradients)

# %%
# .. exercise:: scale.average_gradients

# %%
# 2. Shards of the data, one per rank
# -----------------------------------
# *Practises* :doc:`DistributedSampler's disjoint shards
# <plot_distributed_data_parallel>`. Return the indices, of ``range(n)``, that rank
# ``rank`` of ``world_size`` reads in epoch ``epoch``, the same as
# ``DistributedSampler`` with ``seed=seed`` after ``set_epoch(epoch)``: shuffle with
# ``torch.randperm(n, generator=...)`` from a ``torch.Generator`` seeded with
# ``seed + epoch`` (the same on every rank), repeat the start of the order until its
# length is a multiple of ``world_size``, and take every ``world_size``-th index from
# position ``rank``. All ranks then get equally many indices, together cover every
# example, and get a new order each epoch. The check compares your shards with the
# sampler's.


def shard_indices(n: int, rank: int, world_size: int, seed: int, epoch: int) -> list:
    # Return this rank's list of indices for this epoch.
    raise NotImplementedError


# %%
ex.shard_indices.check(shard_indices)

# %%
# .. exercise:: scale.shard_indices

# %%
# 3. An atomic save that keeps the previous checkpoint
# ----------------------------------------------------
# *Practises* :doc:`saving atomically <plot_checkpoints>`, with a backup. Save
# ``state`` with ``torch.save`` so that ``path`` always holds a complete checkpoint,
# the old one or the new one, and so that after a successful save the checkpoint it
# replaced is kept as ``path.with_suffix(".bak")`` (on the first save there is none to
# keep). The check watches the file at ``path``: it must be replaced by a file written
# beside it, never written over in place, and never be missing, even for a moment. It
# also makes a save fail halfway over a good checkpoint: that checkpoint must still
# load, no file but the checkpoint and its backup may be left in the folder, and the
# error must come out of your function: re-raised with ``raise``, or as the cause of
# your own (``raise NewError(...) from error``).


def atomic_save(state: dict, path: Path) -> None:
    # Write a temporary file beside path, keep the old checkpoint as the .bak, then
    # replace path with the temporary file in one step.
    raise NotImplementedError


# %%
ex.atomic_save.check(atomic_save)

# %%
# .. exercise:: scale.atomic_save

# %%
# 4. A checkpoint that resumes exactly, moving average included
# -------------------------------------------------------------
# *Practises* :doc:`what a resumed run needs <plot_resume_training>`, for a run with
# more state than that page's. It trains ``model`` (with dropout) with ``optimizer``
# (Adam), a learning rate ``scheduler`` stepped after every step, and batches drawn by
# ``data_order``, and after each step updates ``average``, an exponential moving
# average of the weights (``torch.optim.swa_utils.AveragedModel``); ``step`` counts
# the steps done. Return its checkpoint: a dict with the keys ``"model"``,
# ``"average"``, ``"optimizer"``, ``"scheduler"``, ``"torch_rng"`` (the global
# generator), ``"data_order_rng"`` and ``"step"``, holding only tensors, numbers and
# plain containers. The check stops a run partway, saves your checkpoint to bytes,
# loads it with ``weights_only=True`` into a new run started from another seed, and
# compares the end of the resumed run, and of its average, with a run that never
# stopped, bit for bit.


def checkpoint_state(
    model: nn.Module,
    average: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    data_order: torch.Generator,
    step: int,
) -> dict:
    # Return a dict with the seven keys above.
    raise NotImplementedError


# %%
ex.checkpoint_state.check(checkpoint_state)

# %%
# .. exercise:: scale.checkpoint_state
