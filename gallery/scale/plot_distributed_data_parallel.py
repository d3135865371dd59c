r"""
Data parallel training with DistributedDataParallel
===================================================

One process trains on one batch at a time. With
:class:`~torch.nn.parallel.DistributedDataParallel` (DDP), several processes train
copies of the same model, each on its own part of the data, and average their
gradients after every backward pass, so all copies take the same step. The processes
may share a machine or sit on many. This page starts two real processes on the CPU,
with the ``gloo`` backend, while the site is built, and shows:

* how ``torchrun`` starts the processes and what each one is told (its rank);
* how :class:`~torch.utils.data.distributed.DistributedSampler` gives each process a
  disjoint shard of the data, and why ``set_epoch`` is needed to reshuffle;
* that two processes with batch ``b`` each train as one process with batch ``2b``
  does, up to float rounding;
* why only rank 0 logs and saves, and how the other ranks load its checkpoint;
* what each process stores, and the copy of the gradients that
  ``gradient_as_bucket_view=True`` saves;
* the commands for several GPUs and several machines, and what changes there.

Every DDP process stores the whole model; :ref:`sphx_glr_auto_examples_scale_plot_fsdp.py`
splits it between the processes instead.
"""

# %%
# Setup
# -----
# ``N_SAMPLES`` is a multiple of the global batch: every step of every process then has
# a full batch, which the comparison with one process below relies on, and the
# sampler never pads a shard with repeated samples.
import inspect
import os
import tempfile
from pathlib import Path

import torch
from torch.utils.data import DistributedSampler

from pytorch_examples.claims import check
from pytorch_examples.distributed import common, train_ddp
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
SCRIPT = train_ddp.__name__  # started as a module: it comes with the installed package

# %%
# The training script
# -------------------
# ``torchrun`` runs one copy of a script per process and tells each, through
# environment variables, its ``RANK`` (0 to ``WORLD_SIZE - 1``), its ``LOCAL_RANK`` on
# its machine, and where to meet the others. The script is an ordinary training loop
# with four changes:
#
# 1. :func:`~torch.distributed.init_process_group` joins the other processes;
# 2. the model is wrapped in ``DistributedDataParallel``, which makes every process start
#    from rank 0's weights and averages the gradients during ``backward()``;
# 3. a ``DistributedSampler`` picks this process's share of each epoch's shuffle;
# 4. only rank 0 logs the loss and saves the checkpoint.
#
# The last is not only thrift. After every step the replicas hold identical weights,
# so one copy on disk is the whole model. Several ranks writing the same path would
# race, and with :func:`~pytorch_examples.checkpoints.save_atomically` they would also
# write the same temporary file (the path plus ``.tmp``), so one rank's rename could
# move another's half-written file into place; and every log line would appear once
# per rank.
#
# A comm hook, DDP's way to change how gradients are averaged, keeps the usual
# averaging and only notes DDP's buffers, for the memory count at the end. Code that
# ``torchrun`` starts must live in a file; this one is a module of the
# ``pytorch_examples`` package, so it is there wherever the package is installed. The
# page prints it whole; without ``torchrun`` it trains in one ordinary process.
print(inspect.getsource(train_ddp))

# %%
# What it shares with the FSDP script of the next page (joining the group, the data,
# the model, the loop, the checkpoint and leaving the group) is in ``common``. Rank 0
# saves the checkpoint with
# :func:`~pytorch_examples.checkpoints.save_atomically`, the atomic save of
# :ref:`sphx_glr_auto_examples_scale_plot_checkpoints.py`, and the other ranks wait at
# a barrier until the file is there. At the end every rank waits at a second barrier
# before it leaves the group: a rank that closed its connections early could abort one
# that still uses them.
print(inspect.getsource(common))

# %%
# Starting the processes
# ----------------------
# ``torchrun`` (the same as ``python -m torch.distributed.run``) with ``--standalone``
# picks a free port on this machine for the processes to meet; ``-m`` runs a module,
# as ``python -m`` does. The page starts it with
# :func:`~pytorch_examples.distributed.launch.launch`, which waits through
# :func:`~pytorch_examples.processes.run_command` with a timeout: if a rank fails,
# ``torchrun`` stops the others and the page raises with the failed rank's error. If
# the run hangs, ``run_command`` asks ``torchrun`` to stop, which it passes on to the
# ranks, and after a grace period, on Linux, kills every process of the run still
# alive: ``torchrun`` starts each rank in a session of its own, so killing
# ``torchrun``'s process group alone would leave the ranks running. On other systems
# it kills only that process group.


def run_training(name: str, n_processes: int | None, batch_size: int, *extra: str) -> Launch:
    """Train with ``torchrun`` (or one plain process if ``n_processes`` is None)."""
    settings = f"--batch-size {batch_size} --samples {N_SAMPLES} --epochs {N_EPOCHS}"
    settings += f" --lr {LEARNING_RATE} --seed {SEED}"
    arguments = [*settings.split(), *extra]
    run = launch(SCRIPT, WORK / name, arguments, n_processes=n_processes, timeout=LAUNCH_TIMEOUT_S)
    print("$", run.command)
    print("\n".join(line for lines in run.logs for line in lines))  # grouped by rank
    return run


ddp = run_training("ddp", N_PROCESSES, BATCH_PER_PROCESS)

# %%
# Each rank wrote its report; rank 0 alone logged the loss, and rank 1 loaded the
# checkpoint rank 0 saved and found it equal to its own copy of the model.
check(
    all(report["checkpoint_matches"] for report in ddp.reports[1:]),
    "every other rank loaded rank 0's checkpoint equal to its own model",
)

# %%
# Disjoint shards, reshuffled each epoch
# --------------------------------------
# The sampler shuffles all indices with the same seed in every process, then gives
# rank ``r`` every ``N_PROCESSES``-th one, starting at ``r``. The shards of one epoch
# therefore never overlap and together cover the data. ``set_epoch`` changes the seed
# of the shuffle; without it, every epoch repeats the first one's order, as a sampler
# for rank 0 iterated twice without it shows below.
rows = []
for epoch in range(N_EPOCHS):
    shards = [set(report["shards"][epoch]) for report in ddp.reports]
    overlap, union = set.intersection(*shards), set.union(*shards)
    rows.append((epoch, *map(len, shards), len(overlap), len(union)))
ranks = [f"rank {rank}" for rank in range(N_PROCESSES)]
print(format_table(["epoch", *ranks, "in both", "in either"], rows))
check(
    all(both == 0 and either == N_SAMPLES for *_, both, either in rows),
    "each epoch, the shards are disjoint and cover every sample",
)
orders = ddp.reports[0]["shards"]
check(
    all(orders[epoch] != orders[0] for epoch in range(1, N_EPOCHS)),
    "set_epoch gives rank 0 a new order every epoch",
)
sampler = DistributedSampler(range(N_SAMPLES), num_replicas=N_PROCESSES, rank=0, seed=SEED)
first, second = list(sampler), list(sampler)  # two epochs, no set_epoch between them
print(f"without set_epoch, rank 0's first indices: {first[:6]} then {second[:6]}")
check(first == second, "without set_epoch, every epoch repeats the first one's order")

# %%
# Two processes with batch b, one process with batch 2b
# -----------------------------------------------------
# In a step, the two ranks together see the first ``2b`` indices of the epoch's
# shuffle, the same samples one process with batch ``2b`` sees. Each rank's loss is
# a mean over its ``b`` samples, and DDP averages the two gradients: the mean over
# the ``2b`` samples, the gradient of the single process. Both start from the same
# seed, so they should end with the same weights, up to float rounding.
single = run_training("single", None, N_PROCESSES * BATCH_PER_PROCESS)
gap = max((ddp.checkpoint[k] - v).abs().max().item() for k, v in single.checkpoint.items())
print(f"largest parameter difference, {N_PROCESSES} processes vs one: {gap:.2e}")
check(
    gap <= TOLERANCE,
    f"{N_PROCESSES} processes with batch b end within {TOLERANCE} of one process with batch 2b",
)

# %%
# Memory per process
# ------------------
# Each DDP process holds a whole copy of the model: it stores the parameters, their
# gradients and the optimizer's momentum in full, as the single process does. DDP
# adds its buckets: flat buffers into which it copies the gradients to average them,
# a bucket at a time, so by default a second copy of the gradients. With
# ``gradient_as_bucket_view=True`` the gradients are views into the buckets instead.
# A third run sets it. The table counts, after training, the bytes of the memory
# blocks behind each group of tensors, a block shared by a view once; it leaves out
# activations, the data and the buffers of the communication backend.
views = run_training("ddp_views", N_PROCESSES, BATCH_PER_PROCESS, "--grad-views")
labelled = [(f"DDP, rank {rank}", report) for rank, report in enumerate(ddp.reports)]
labelled += [(f"DDP views, rank {rank}", report) for rank, report in enumerate(views.reports)]
labelled += [("one process", single.reports[0])]


def grads_in_buckets(report: dict) -> str:
    """Whether the gradients are views into the buckets: then the buckets add no bytes."""
    if report["bucket_bytes"] == 0:
        return "n/a (no buckets)"
    return "yes" if report["total_bytes"] == report["held_bytes"] else "no"


rows = [
    (name, r["held_bytes"], r["bucket_bytes"], r["total_bytes"], grads_in_buckets(r))
    for name, r in labelled
]
columns = ["process", "params, grads, momentum", "buckets", "total", "grads are bucket views"]
print(format_table(columns, rows))
check(
    len({held for _, held, *_ in rows}) == 1,
    "every DDP process holds as many bytes of parameters, gradients and momentum "
    "as the single process",
)
check(
    all(
        r["bucket_bytes"] == r["gradient_bytes"] > 0
        and r["total_bytes"] == r["held_bytes"] + r["bucket_bytes"]
        for r in ddp.reports
    ),
    "by default, the buckets are a second copy of the gradients, as many bytes again",
)
check(
    all(r["total_bytes"] == single.reports[0]["total_bytes"] for r in views.reports),
    "with gradient_as_bucket_view=True, a DDP process holds as many bytes as the single process",
)

# %%
# On GPUs and on several machines
# -------------------------------
# On GPUs the backend is ``nccl``, and each process drives one GPU: the script calls
# ``torch.cuda.set_device(LOCAL_RANK)`` before anything else touches CUDA, moves the
# model and every batch there, and passes that GPU's index, ``LOCAL_RANK``, to DDP as
# ``device_ids``. The checkpoint is loaded with ``map_location`` set to the process's
# own GPU; without it, the tensors would go to the GPU they were saved from.
# ``--nproc-per-node=gpu`` starts one process per GPU. On several machines, ``torchrun``
# runs on each: with the ``c10d`` rendezvous, the command is the same everywhere and
# names one machine's address and port as the meeting point; with the static rendezvous,
# each machine gives its ``--node-rank``. ``RANK`` is then unique across all machines,
# while ``LOCAL_RANK`` counts the processes of one machine and picks the GPU.
ONE_MACHINE = "torchrun --standalone --nproc-per-node=gpu"
C10D_RENDEZVOUS = (
    "torchrun --nnodes=2 --nproc-per-node=gpu "
    "--rdzv-backend=c10d --rdzv-endpoint=HOST:29400 --rdzv-id=JOB"
)
STATIC_RENDEZVOUS = (
    "torchrun --nnodes=2 --nproc-per-node=gpu --node-rank=0 --master-addr=HOST --master-port=29500"
)
for where, launcher in [
    ("one machine, all its GPUs", ONE_MACHINE),
    ("two machines, c10d rendezvous (the same command on both)", C10D_RENDEZVOUS),
    ("two machines, static rendezvous (--node-rank=1 on the other)", STATIC_RENDEZVOUS),
]:
    print(f"{where}:\n  {launcher} -m {SCRIPT} --backend nccl")

# %%
# The build runs the ``nccl`` variant only when ``PYTORCH_EXAMPLES_GPU=1`` is set and
# PyTorch sees at least two GPUs; the line below says whether it ran.
n_gpus = torch.cuda.device_count()
if os.environ.get("PYTORCH_EXAMPLES_GPU") == "1" and n_gpus >= 2:
    gpu = run_training("ddp_gpu", n_gpus, BATCH_PER_PROCESS, "--backend", "nccl")
else:
    print(
        f"The GPU (nccl) variant was not run: PYTORCH_EXAMPLES_GPU="
        f"{os.environ.get('PYTORCH_EXAMPLES_GPU', 'unset')}, {n_gpus} CUDA GPU(s)."
    )
workdir.cleanup()
