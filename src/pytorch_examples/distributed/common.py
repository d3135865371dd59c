"""What the DDP and FSDP training scripts share: options, data, model, loop and exit.

Every function also works in one ordinary process, started without ``torchrun``: it is
then rank 0 of 1. Shown and explained on
:ref:`sphx_glr_auto_examples_scale_plot_distributed_data_parallel.py`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

from pytorch_examples.checkpoints import save_atomically

N_FEATURES = 8
HIDDEN = 64


def make_parser(description: str) -> argparse.ArgumentParser:
    """Make the parser of the options every script takes; a script may add its own.

    Shown on :doc:`/auto_examples/scale/plot_distributed_data_parallel`.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--out", type=Path, default=Path("run"), help="folder for the results")
    parser.add_argument("--batch-size", type=int, default=16, help="samples per step per process")
    parser.add_argument("--samples", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0)
    return parser


@dataclass(frozen=True)
class Process:
    """Who this process is among those ``torchrun`` started.

    Shown on :doc:`/auto_examples/scale/plot_distributed_data_parallel`.
    """

    rank: int  # 0 to world_size - 1, unique across all machines
    world_size: int
    device: torch.device
    distributed: bool  # False when started without torchrun

    def log(self, message: str) -> None:
        """Print ``message`` after this rank's number.

        One write per line, so that lines of different processes do not interleave.
        """
        sys.stdout.write(f"[rank {self.rank}] {message}\n")
        sys.stdout.flush()


def join(backend: str = "gloo") -> Process:
    """Join the other processes, if ``torchrun`` started this one, and pick the device.

    Shown on :doc:`/auto_examples/scale/plot_distributed_data_parallel`.
    """
    distributed = "RANK" in os.environ  # set by torchrun
    local_rank = int(os.environ.get("LOCAL_RANK", 0))  # this process's number on its machine
    device = torch.device("cpu")
    if backend == "nccl":
        device = torch.device("cuda", local_rank)  # one GPU per process, chosen first
        torch.cuda.set_device(device)
    if not distributed:
        return Process(0, 1, device, distributed=False)
    # The timeout turns a lost process into an error instead of a hang.
    dist.init_process_group(backend, timeout=timedelta(seconds=60))
    return Process(dist.get_rank(), dist.get_world_size(), device, distributed=True)


def make_loader(args: argparse.Namespace, process: Process) -> DataLoader:
    """Load this process's share of a small regression data set, the same in every process.

    Shown on :doc:`/auto_examples/scale/plot_distributed_data_parallel`.
    """
    generator = torch.Generator().manual_seed(args.seed)
    x = torch.randn(args.samples, N_FEATURES, generator=generator)
    y = torch.sin(0.35 * x @ torch.randn(N_FEATURES, 1, generator=generator))  # smooth
    dataset = TensorDataset(x, y)
    # The sampler, not the data, differs between the processes.
    sampler = DistributedSampler(
        dataset, num_replicas=process.world_size, rank=process.rank, seed=args.seed
    )
    return DataLoader(dataset, batch_size=args.batch_size, sampler=sampler)


def make_model(seed: int) -> nn.Sequential:
    """Make the network, with the same initial weights in every process.

    Shown on :doc:`/auto_examples/scale/plot_distributed_data_parallel`.
    """
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(N_FEATURES, HIDDEN),
        nn.ReLU(),
        nn.Linear(HIDDEN, HIDDEN),
        nn.ReLU(),
        nn.Linear(HIDDEN, 1),
    )


def train(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    loader: DataLoader,
    epochs: int,
    process: Process,
    before_step: Callable[[], None] = lambda: None,
) -> list[list[int]]:
    """Train; rank 0 logs each epoch's loss. Returns the indices this rank saw, by epoch.

    Shown on :doc:`/auto_examples/scale/plot_distributed_data_parallel`.
    """
    shards = []
    for epoch in range(epochs):
        loader.sampler.set_epoch(epoch)  # shuffles with seed + epoch, the same everywhere
        shards.append(list(loader.sampler))
        totals = torch.zeros(2, device=process.device)  # loss summed over samples, samples
        for inputs, targets in loader:
            inputs, targets = inputs.to(process.device), targets.to(process.device)
            loss = nn.functional.mse_loss(model(inputs), targets)
            optimizer.zero_grad()
            before_step()
            loss.backward()  # DDP and FSDP average the gradients of all processes here
            optimizer.step()
            n_samples = torch.tensor(len(targets), device=process.device)
            totals += torch.stack([loss.detach() * n_samples, n_samples])
        if process.distributed:
            dist.all_reduce(totals)  # every rank takes part; rank 0 reports
        if process.rank == 0:
            mean = totals[0] / totals[1]
            process.log(f"epoch {epoch}: loss {mean:.4f}, {int(totals[1])} samples")
    return shards


def save_checkpoint(state: dict, path: Path, process: Process) -> None:
    """Rank 0 saves ``state`` atomically; every rank returns once the file is there.

    Shown on :doc:`/auto_examples/scale/plot_distributed_data_parallel`.
    """
    if process.rank == 0:  # one writer
        save_atomically(state, path)
    if process.distributed:
        dist.barrier()  # nobody reads the file before rank 0 has written it


def finish(report: dict, out: Path, process: Process) -> None:
    """Save this rank's report, then leave the group once every rank is done.

    Shown on :doc:`/auto_examples/scale/plot_distributed_data_parallel`.
    """
    torch.save(report, out / f"report_rank{process.rank}.pt")
    if process.distributed:
        # No rank closes its connections while another still uses them.
        dist.barrier()
        dist.destroy_process_group()
