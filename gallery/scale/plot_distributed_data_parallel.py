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
import os
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
SCRIPT = "train_ddp.py"

# %%
# The training script
# -------------------
# ``torchrun`` runs one copy of a script per process and tells each, through
# environment variables, its ``RANK`` (0 to ``WORLD_SIZE - 1``), its ``LOCAL_RANK`` on
# its machine, and where to meet the others. The script below is an ordinary training
# loop with four changes:
#
# 1. :func:`~torch.distributed.init_process_group` joins the other processes;
# 2. the model is wrapped in ``DistributedDataParallel``, which makes every process start
#    from rank 0's weights and averages the gradients during ``backward()``;
# 3. a ``DistributedSampler`` picks this process's share of each epoch's shuffle;
# 4. only rank 0 logs the loss and saves the checkpoint.
#
# A comm hook, DDP's way to change how gradients are averaged, keeps the usual
# averaging and only notes DDP's buffers, for the memory count at the end.
#
# The page writes the script to a temporary folder and runs it in new processes,
# because code started by ``torchrun`` must live in a file. Without ``torchrun`` the
# same script trains in one ordinary process.
TRAIN_SCRIPT = r'''"""Train a small regression network with DDP, on CPUs or GPUs.

Run: torchrun --standalone --nproc-per-node=2 train_ddp.py --out run
or, as one ordinary process: python train_ddp.py --out run
"""
import argparse
import os
import sys
from datetime import timedelta
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn
from torch.distributed.algorithms.ddp_comm_hooks.default_hooks import allreduce_hook
from torch.distributed.elastic.multiprocessing.errors import record
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--out", type=Path, required=True, help="folder for checkpoint and reports")
parser.add_argument("--batch-size", type=int, default=16, help="samples per step per process")
parser.add_argument("--samples", type=int, default=256)
parser.add_argument("--epochs", type=int, default=3)
parser.add_argument("--lr", type=float, default=0.05)
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--backend", choices=["gloo", "nccl"], default="gloo")
parser.add_argument("--grad-views", action="store_true", help="gradient_as_bucket_view=True")


def log(rank, message):
    # One write per line, so that lines of different processes do not interleave.
    sys.stdout.write(f"[rank {rank}] {message}\n")
    sys.stdout.flush()


def stored_bytes(tensors):
    """Bytes of the memory behind ``tensors``, each block once: a view adds nothing."""
    blocks = {t.untyped_storage().data_ptr(): t.untyped_storage().nbytes() for t in tensors}
    return sum(blocks.values())


@record  # puts a failing rank's traceback into torchrun's error report
def main():
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)  # every rank may create it
    distributed = "RANK" in os.environ  # set by torchrun
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    device = torch.device("cpu")
    if args.backend == "nccl":
        device = torch.device("cuda", local_rank)  # one GPU per process, chosen first
        torch.cuda.set_device(device)
    if distributed:
        # The timeout turns a lost process into an error instead of a hang.
        dist.init_process_group(args.backend, timeout=timedelta(seconds=60))
    rank = dist.get_rank() if distributed else 0
    world_size = dist.get_world_size() if distributed else 1

    # The same data in every process: the sampler, not the data, differs.
    generator = torch.Generator().manual_seed(args.seed)
    x = torch.randn(args.samples, 8, generator=generator)
    y = torch.sin(0.35 * x @ torch.randn(8, 1, generator=generator))  # smooth enough to learn
    dataset = TensorDataset(x, y)
    sampler = DistributedSampler(dataset, num_replicas=world_size, rank=rank, seed=args.seed)
    loader = DataLoader(dataset, batch_size=args.batch_size, sampler=sampler)

    torch.manual_seed(args.seed)
    model = nn.Sequential(nn.Linear(8, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                          nn.Linear(64, 1)).to(device)
    buckets = {}  # DDP's flat buffers for averaging gradients, by bucket index
    if distributed:
        model = DistributedDataParallel(
            model, device_ids=[local_rank] if device.type == "cuda" else None,
            gradient_as_bucket_view=args.grad_views)

        def allreduce_noting_buckets(state, bucket):
            buckets[bucket.index()] = bucket.buffer()  # then DDP's usual averaging
            return allreduce_hook(state, bucket)

        model.register_comm_hook(None, allreduce_noting_buckets)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    if rank == 0:
        log(rank, f"{world_size} process(es) x {args.batch_size} = "
                  f"{world_size * args.batch_size} samples per step")

    shards = []
    for epoch in range(args.epochs):
        sampler.set_epoch(epoch)  # shuffles with seed + epoch, the same in every process
        shards.append(list(sampler))
        totals = torch.zeros(2, device=device)  # loss summed over samples, samples
        for inputs, targets in loader:
            inputs, targets = inputs.to(device), targets.to(device)
            loss = nn.functional.mse_loss(model(inputs), targets)
            optimizer.zero_grad()
            buckets.clear()  # keep the buffers of the last step only
            loss.backward()  # DDP averages the gradients of all processes here
            optimizer.step()
            totals += torch.stack([loss.detach() * len(targets),
                                   torch.tensor(len(targets), device=device)])
        if distributed:
            dist.all_reduce(totals)  # every rank takes part; rank 0 reports
        if rank == 0:
            log(rank, f"epoch {epoch}: loss {totals[0] / totals[1]:.4f}, "
                      f"{int(totals[1])} samples")
    log(rank, f"epoch 0 shard: {len(shards[0])} samples, starting {shards[0][:6]}")

    state = (model.module if distributed else model).state_dict()
    path = args.out / "checkpoint.pt"
    if rank == 0:  # one writer; written under another name, then renamed: atomic
        torch.save(state, args.out / "checkpoint.tmp")
        os.replace(args.out / "checkpoint.tmp", path)
    if distributed:
        dist.barrier()  # nobody reads the file before rank 0 has written it
    matches = None
    if rank != 0:
        # map_location puts the tensors on this process's device, not the saver's.
        loaded = torch.load(path, map_location=device, weights_only=True)
        matches = all(torch.equal(loaded[k], v) for k, v in state.items())
        log(rank, f"loaded rank 0's checkpoint: equal to my copy: {matches}")
    params = list(model.parameters())
    model_tensors = params + [p.grad for p in params]
    model_tensors += [t for state in optimizer.state.values() for t in state.values()
                      if torch.is_tensor(t)]
    report = {"shards": shards, "checkpoint_matches": matches,
              "held_bytes": stored_bytes(model_tensors),
              "gradient_bytes": stored_bytes([p.grad for p in params]),
              "bucket_bytes": stored_bytes(buckets.values()),
              "total_bytes": stored_bytes(model_tensors + list(buckets.values()))}
    torch.save(report, args.out / f"report_rank{rank}.pt")
    if distributed:
        dist.barrier()  # no rank closes its connections while another still uses them
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
'''
(WORK / SCRIPT).write_text(TRAIN_SCRIPT)

# %%
# Starting the processes
# ----------------------
# ``torchrun`` (the same as ``python -m torch.distributed.run``) with ``--standalone``
# picks a free port on this machine for the processes to meet. The page starts it
# with :func:`~pytorch_examples.processes.run_command`, which waits with a timeout:
# if a rank fails, ``torchrun`` stops the others and the page raises with the failed
# rank's error. If the run hangs, ``run_command`` asks ``torchrun`` to stop, which it
# passes on to the ranks, and after a grace period, on Linux, kills every process of
# the run still alive: ``torchrun`` starts each rank in a session of its own, so
# killing ``torchrun``'s process group alone would leave the ranks running. On other
# systems it kills only that process group.


def run_training(name: str, n_processes: int | None, batch_size: int, *extra: str) -> dict:
    """Train with ``torchrun`` (or plain ``python`` if ``n_processes`` is None)."""
    (WORK / name).mkdir()
    settings = (
        f"--out {name} --batch-size {batch_size} --samples {N_SAMPLES} "
        f"--epochs {N_EPOCHS} --lr {LEARNING_RATE} --seed {SEED}"
    )
    arguments = [SCRIPT, *settings.split(), *extra]
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


ddp = run_training("ddp", N_PROCESSES, BATCH_PER_PROCESS)

# %%
# Each rank wrote its report; rank 0 alone logged the loss, and rank 1 loaded the
# checkpoint rank 0 saved and found it equal to its own copy of the model.
check(
    all(report["checkpoint_matches"] for report in ddp["reports"][1:]),
    "every other rank loaded rank 0's checkpoint equal to its own model",
)

# %%
# Disjoint shards, reshuffled each epoch
# --------------------------------------
# The sampler shuffles all indices with the same seed in every process, then gives
# rank ``r`` every ``N_PROCESSES``-th one, starting at ``r``. The shards of one epoch
# therefore never overlap and together cover the data. ``set_epoch`` changes the seed
# of the shuffle; without it, every epoch would repeat the first one's order.
rows = []
for epoch in range(N_EPOCHS):
    shards = [set(report["shards"][epoch]) for report in ddp["reports"]]
    overlap, union = set.intersection(*shards), set.union(*shards)
    rows.append((epoch, *map(len, shards), len(overlap), len(union)))
ranks = [f"rank {rank}" for rank in range(N_PROCESSES)]
print(format_table(["epoch", *ranks, "in both", "in either"], rows))
check(
    all(both == 0 and either == N_SAMPLES for *_, both, either in rows),
    "each epoch, the shards are disjoint and cover every sample",
)
orders = ddp["reports"][0]["shards"]
check(
    all(orders[epoch] != orders[0] for epoch in range(1, N_EPOCHS)),
    "set_epoch gives rank 0 a new order every epoch",
)

# %%
# Two processes with batch b, one process with batch 2b
# -----------------------------------------------------
# In a step, the two ranks together see the first ``2b`` indices of the epoch's
# shuffle, the same samples one process with batch ``2b`` sees. Each rank's loss is
# a mean over its ``b`` samples, and DDP averages the two gradients: the mean over
# the ``2b`` samples, the gradient of the single process. Both start from the same
# seed, so they should end with the same weights, up to float rounding.
single = run_training("single", None, N_PROCESSES * BATCH_PER_PROCESS)
gap = max(
    (ddp["state"][name] - tensor).abs().max().item() for name, tensor in single["state"].items()
)
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
labelled = [(f"DDP, rank {rank}", report) for rank, report in enumerate(ddp["reports"])]
labelled += [(f"DDP views, rank {rank}", report) for rank, report in enumerate(views["reports"])]
labelled += [("one process", single["reports"][0])]


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
        for r in ddp["reports"]
    ),
    "by default, the buckets are a second copy of the gradients, as many bytes again",
)
check(
    all(r["total_bytes"] == single["reports"][0]["total_bytes"] for r in views["reports"]),
    "with gradient_as_bucket_view=True, a DDP process holds as many bytes as the single process",
)

# %%
# On GPUs and on several machines
# -------------------------------
# On GPUs the backend is ``nccl``, and each process drives one GPU: the script calls
# ``torch.cuda.set_device(LOCAL_RANK)`` before anything else touches CUDA, moves the
# model and every batch there, and passes ``device_ids=[LOCAL_RANK]`` to DDP. The
# checkpoint is loaded with ``map_location`` set to the process's own GPU; without it,
# the tensors would go to the GPU they were saved from. ``--nproc-per-node=gpu``
# starts one process per GPU. On several machines, ``torchrun`` runs on each: with the
# ``c10d`` rendezvous, the command is the same everywhere and names one machine's
# address and port as the meeting point; with the static rendezvous, each machine
# gives its ``--node-rank``. ``RANK`` is then unique across all machines, while
# ``LOCAL_RANK`` counts the processes of one machine and picks the GPU.
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
    print(f"{where}:\n  {launcher} {SCRIPT} --backend nccl --out run")

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
