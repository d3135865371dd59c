r"""
Sharding a model with FSDP
==========================

:ref:`sphx_glr_auto_examples_scale_plot_distributed_data_parallel.py` keeps a whole
copy of the model, its gradients and the optimizer state in every process. Fully
sharded data parallel training (FSDP) splits them between the processes instead, so
that a model too large for one device can still be trained. This page trains the same
small network with FSDP's :func:`~torch.distributed.fsdp.fully_shard` in two real CPU
processes, with the ``gloo`` backend, while the site is built, and shows:

* how ``fully_shard`` is applied to each layer and then to the whole model;
* which slice of every parameter each process stores;
* that the sharded run ends where one process with twice the batch ends, up to float
  rounding;
* how to gather the full ``state_dict`` for a checkpoint;
* that the processes together store one copy of the parameters, gradients and
  momentum, where data parallel training stores one per process.
"""

# %%
# Setup
# -----
# ``N_SAMPLES`` is a multiple of the global batch, so that every step of every process
# has a full batch, which the comparison with one process below relies on.
import inspect
import tempfile
from pathlib import Path

import torch

from pytorch_examples.claims import check
from pytorch_examples.distributed import common, train_fsdp
from pytorch_examples.distributed.launch import Launch, launch
from pytorch_examples.reporting import format_table

SEED = 0
N_PROCESSES = 2
BATCH_PER_PROCESS = 16
N_SAMPLES = 256
N_EPOCHS = 3
LEARNING_RATE = 0.05
TOLERANCE = 1e-5  # float32 sums in another order differ by rounding, not more
LAUNCH_TIMEOUT_S = 120  # a run that takes longer is stopped and reported as an error

if N_SAMPLES % (N_PROCESSES * BATCH_PER_PROCESS):
    raise ValueError("N_SAMPLES must be a multiple of N_PROCESSES * BATCH_PER_PROCESS")
workdir = tempfile.TemporaryDirectory()
WORK = Path(workdir.name)
SCRIPT = train_fsdp.__name__  # a module of the installed package, as on the DDP page

# %%
# The training script
# -------------------
# As with DDP, ``torchrun`` starts one copy of the script per process, and the script
# joins the others with :func:`~torch.distributed.init_process_group`. Instead of
# wrapping the model, it calls ``fully_shard`` on every linear layer and then on the
# model. Each call replaces the layer's parameters by sharded tensors (``DTensor``):
# the rows of each are split between the processes, and a process keeps only its
# share, which can be empty (the output below shows one). During the forward and the
# backward pass a layer gathers its full weights just before it computes and frees
# them right after; after ``backward()`` each process keeps only its rows of the
# averaged gradients, and the optimizer updates only those rows. Without ``torchrun``
# the script trains in one ordinary process.
#
# The rest is the DDP script's: the data, the model, the loop, the checkpoint and the
# barriers come from the ``common`` module that
# :ref:`sphx_glr_auto_examples_scale_plot_distributed_data_parallel.py` prints.
print(inspect.getsource(train_fsdp))

# %%
# Starting the processes
# ----------------------
# ``torchrun --standalone`` starts the processes on this machine, through
# :func:`~pytorch_examples.distributed.launch.launch` as on the DDP page: if a rank
# fails, the page raises with its error; if the run hangs, ``torchrun`` and every rank
# are stopped.


def run_training(name: str, n_processes: int | None, batch_size: int) -> Launch:
    """Train with ``torchrun`` (or one plain process if ``n_processes`` is None)."""
    settings = f"--batch-size {batch_size} --samples {N_SAMPLES} --epochs {N_EPOCHS}"
    settings += f" --lr {LEARNING_RATE} --seed {SEED}"
    run = launch(
        SCRIPT, WORK / name, settings.split(), n_processes=n_processes, timeout=LAUNCH_TIMEOUT_S
    )
    print("$", run.command)
    print("\n".join(line for lines in run.logs for line in lines))  # grouped by rank
    return run


fsdp = run_training("fsdp", N_PROCESSES, BATCH_PER_PROCESS)

# %%
# Each rank printed the shape of its slice of every parameter: half of each tensor along
# its first dimension, except for the last layer, whose weight and bias have a first
# dimension of one, which only one rank can hold. Rank 0 alone logged the loss.
#
# One process with twice the batch
# --------------------------------
# As with DDP, the two ranks together see in each step the samples one process with
# batch ``2b`` sees, and the gradients are averaged over both: the gradient of that
# single process. The same script without ``torchrun``:
single = run_training("single", None, N_PROCESSES * BATCH_PER_PROCESS)
gap = max((fsdp.checkpoint[k] - v).abs().max().item() for k, v in single.checkpoint.items())
print(f"largest parameter difference, FSDP vs one process: {gap:.2e}")
check(
    gap <= TOLERANCE,
    f"{N_PROCESSES} FSDP processes with batch b end within {TOLERANCE} of one process "
    "with batch 2b",
)

# %%
# The FSDP weights compared here are the checkpoint rank 0 saved:
# ``get_model_state_dict`` with ``full_state_dict=True`` gathered every slice into a
# whole tensor, under the name it has in the unsharded model. The file therefore loads
# into the plain network, strictly (every name present, none extra, every shape right),
# as the single process's checkpoint does.
plain = common.make_model(SEED)
print(plain.load_state_dict(fsdp.checkpoint, strict=True))
check(
    all(torch.equal(plain.state_dict()[name], value) for name, value in fsdp.checkpoint.items()),
    "the gathered checkpoint loads into the plain network, strictly",
)

# %%
# What each process stores
# ------------------------
# The single process stores the whole model, as every DDP process does (a DDP process
# with the default settings also holds its gradient buckets, a second copy of the
# gradients, as the DDP page shows). The FSDP processes share that amount between them.
fsdp_held = [report["held_bytes"] for report in fsdp.reports]
one_copy = single.reports[0]["held_bytes"]
rows = [("one process", one_copy)]
rows += [(f"FSDP rank {rank}", held) for rank, held in enumerate(fsdp_held)]
rows += [("FSDP, all ranks", sum(fsdp_held))]
print("bytes of parameters, gradients and momentum stored after training:")
print(format_table(["", "bytes"], rows))
check(
    sum(fsdp_held) == one_copy and max(fsdp_held) < one_copy,
    "the FSDP processes together store one copy of the model, each less than one process",
)

# %%
# FSDP pays for the saved memory with more communication: it gathers every layer's
# weights in the forward pass and again in the backward pass. For a model this small
# DDP is the right choice; FSDP is for models whose weights, gradients and optimizer
# state do not fit in one device's memory.
workdir.cleanup()
