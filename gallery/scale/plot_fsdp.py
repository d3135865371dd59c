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
import sys
import tempfile
from pathlib import Path

import torch

from pytorch_examples.claims import check
from pytorch_examples.processes import run_command
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
SCRIPT = "train_fsdp.py"

# %%
# The training script
# -------------------
# As with DDP, ``torchrun`` starts one copy of the script per process, and the script
# joins the others with :func:`~torch.distributed.init_process_group`. Instead of
# wrapping the model, it calls ``fully_shard`` on every linear layer and then on the
# model. Each call replaces the layer's parameters by sharded tensors (``DTensor``):
# every process keeps some rows of each. During the forward and the backward pass a
# layer gathers its full weights just before it computes and frees them right after;
# after ``backward()`` each process keeps only its rows of the averaged gradients,
# and the optimizer updates only those rows. Without ``torchrun`` the script trains
# in one ordinary process.
TRAIN_SCRIPT = r'''"""Train a small regression network with FSDP (fully_shard) on CPUs.

Run: torchrun --standalone --nproc-per-node=2 train_fsdp.py --out run
or, as one ordinary process: python train_fsdp.py --out run
"""
import argparse
import os
import sys
from datetime import timedelta
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn
from torch.distributed.elastic.multiprocessing.errors import record
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--out", type=Path, required=True, help="folder for checkpoint and reports")
parser.add_argument("--batch-size", type=int, default=16, help="samples per step per process")
parser.add_argument("--samples", type=int, default=256)
parser.add_argument("--epochs", type=int, default=3)
parser.add_argument("--lr", type=float, default=0.05)
parser.add_argument("--seed", type=int, default=0)


def log(rank, message):
    # One write per line, so that lines of different processes do not interleave.
    sys.stdout.write(f"[rank {rank}] {message}\n")
    sys.stdout.flush()


def local(tensor):
    """The part of a tensor this process stores: its slice of a sharded DTensor."""
    return tensor.to_local() if hasattr(tensor, "to_local") else tensor


def held_bytes(model, optimizer):
    """Bytes of parameters, gradients and optimizer state stored in this process."""
    params = list(model.parameters())
    tensors = params + [p.grad for p in params if p.grad is not None]
    tensors += [t for state in optimizer.state.values() for t in state.values()]
    return sum(local(t).numel() * t.element_size() for t in tensors if torch.is_tensor(t))


@record  # puts a failing rank's traceback into torchrun's error report
def main():
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)  # every rank may create it
    distributed = "RANK" in os.environ  # set by torchrun
    if distributed:
        # The timeout turns a lost process into an error instead of a hang.
        dist.init_process_group("gloo", timeout=timedelta(seconds=60))
    rank = dist.get_rank() if distributed else 0
    world_size = dist.get_world_size() if distributed else 1

    # The same data in every process: the sampler, not the data, differs.
    generator = torch.Generator().manual_seed(args.seed)
    x = torch.randn(args.samples, 8, generator=generator)
    y = torch.sin(0.35 * x @ torch.randn(8, 1, generator=generator))  # smooth enough to learn
    dataset = TensorDataset(x, y)
    sampler = DistributedSampler(dataset, num_replicas=world_size, rank=rank, seed=args.seed)
    loader = DataLoader(dataset, batch_size=args.batch_size, sampler=sampler)

    torch.manual_seed(args.seed)  # the same initial weights in every process
    model = nn.Sequential(nn.Linear(8, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                          nn.Linear(64, 1))
    if distributed:
        from torch.distributed.device_mesh import init_device_mesh  # slow to import:
        from torch.distributed.fsdp import fully_shard  # only when used

        mesh = init_device_mesh("cpu", (world_size,))  # the processes that share the model
        for layer in model:
            if isinstance(layer, nn.Linear):
                fully_shard(layer, mesh=mesh)  # each process keeps some rows of this layer
        fully_shard(model, mesh=mesh)  # the root: whatever the layers above left over
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    slices = ", ".join(f"{name} {tuple(local(p).shape)}" for name, p in model.named_parameters())
    log(rank, f"stores {slices}")

    for epoch in range(args.epochs):
        sampler.set_epoch(epoch)  # shuffles with seed + epoch, the same in every process
        totals = torch.zeros(2)  # loss summed over samples, samples
        for inputs, targets in loader:
            loss = nn.functional.mse_loss(model(inputs), targets)
            optimizer.zero_grad()
            loss.backward()  # each process ends with its rows of the averaged gradients
            optimizer.step()
            totals += torch.stack([loss.detach() * len(targets), torch.tensor(len(targets))])
        if distributed:
            dist.all_reduce(totals)  # every rank takes part; rank 0 reports
        if rank == 0:
            log(rank, f"epoch {epoch}: loss {totals[0] / totals[1]:.4f}, "
                      f"{int(totals[1])} samples")

    if distributed:
        from torch.distributed.checkpoint.state_dict import (
            StateDictOptions, get_model_state_dict)

        # Gathering the slices is collective; with cpu_offload, rank 0 keeps the result.
        options = StateDictOptions(full_state_dict=True, cpu_offload=True)
        state = get_model_state_dict(model, options=options)
    else:
        state = model.state_dict()
    if rank == 0:  # one writer; written under another name, then renamed: atomic
        torch.save(state, args.out / "checkpoint.tmp")
        os.replace(args.out / "checkpoint.tmp", args.out / "checkpoint.pt")
    report = {"held_bytes": held_bytes(model, optimizer)}
    torch.save(report, args.out / f"report_rank{rank}.pt")
    if distributed:
        # Every rank finishes its work before any closes its connections: a rank that
        # tore them down early could abort one still using them.
        dist.barrier()
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
'''
(WORK / SCRIPT).write_text(TRAIN_SCRIPT)

# %%
# Starting the processes
# ----------------------
# ``torchrun --standalone`` starts the processes on this machine, through
# :func:`~pytorch_examples.processes.run_command` as on the DDP page: if a rank fails,
# the page raises with its error; if the run hangs, ``torchrun`` and every rank are
# stopped.


def run_training(name: str, n_processes: int | None, batch_size: int) -> dict:
    """Train with ``torchrun`` (or plain ``python`` if ``n_processes`` is None)."""
    (WORK / name).mkdir()
    settings = (
        f"--out {name} --batch-size {batch_size} --samples {N_SAMPLES} "
        f"--epochs {N_EPOCHS} --lr {LEARNING_RATE} --seed {SEED}"
    )
    arguments = [SCRIPT, *settings.split()]
    torchrun = ["--standalone", f"--nproc-per-node={n_processes}"] if n_processes else []
    print("$", " ".join((["torchrun", *torchrun] if n_processes else ["python"]) + arguments))
    module = ["-m", "torch.distributed.run"] if n_processes else []  # torchrun, this Python
    command = [sys.executable, *module, *torchrun, *arguments]
    lines = run_command(command, WORK, timeout=LAUNCH_TIMEOUT_S).splitlines()
    ranks = range(n_processes or 1)
    for rank in ranks:  # grouped by rank; within a rank, in order
        print("\n".join(line for line in lines if line.startswith(f"[rank {rank}]")))
    folder = WORK / name
    reports = [torch.load(folder / f"report_rank{rank}.pt", weights_only=True) for rank in ranks]
    return {"reports": reports, "state": torch.load(folder / "checkpoint.pt", weights_only=True)}


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
gap = max(
    (fsdp["state"][name] - tensor).abs().max().item() for name, tensor in single["state"].items()
)
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
# into the plain network, as the single process's checkpoint does.
shapes = {name: tensor.shape for name, tensor in single["state"].items()}
check(
    {name: tensor.shape for name, tensor in fsdp["state"].items()} == shapes,
    "the gathered checkpoint has the names and shapes of the single process's checkpoint",
)

# %%
# What each process stores
# ------------------------
# The single process stores the whole model, as every DDP process does (a DDP process
# with the default settings also holds its gradient buckets, a second copy of the
# gradients, as the DDP page shows). The FSDP processes share that amount between them.
fsdp_held = [report["held_bytes"] for report in fsdp["reports"]]
one_copy = single["reports"][0]["held_bytes"]
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
