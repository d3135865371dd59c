"""Solutions of the scale exercises (gallery/scale/plot_scale_exercises.py).

Shown in the page's "Solution" dropdowns by docs/ext/exercise_pages.py, which checks each
one while the site is built. Each function is pasted whole into a notebook by readers and
by tests/site/check_downloads.py, so it uses only the names the page imports.
"""

from pathlib import Path

import torch
from torch import nn


def average_gradients(replicas: list[nn.Module]) -> None:
    for copies in zip(*(replica.parameters() for replica in replicas), strict=True):
        mean = torch.stack([p.grad for p in copies]).mean(dim=0)
        for p in copies:
            p.grad.copy_(mean)


def shard_indices(n: int, rank: int, world_size: int, seed: int, epoch: int) -> list[int]:
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed + epoch)).tolist()
    total = -(-n // world_size) * world_size  # n rounded up to a multiple of world_size
    while len(order) < total:
        order += order[: total - len(order)]
    return order[rank:total:world_size]


def atomic_save(state: dict, path: Path) -> None:
    import os
    import shutil

    temporary = path.with_name(path.name + ".tmp")
    try:
        with open(temporary, "wb") as file:
            torch.save(state, file)
            file.flush()
            os.fsync(file.fileno())
        if path.exists():
            shutil.copy2(path, path.with_suffix(".bak"))
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def checkpoint_state(
    model: nn.Module,
    average: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    data_order: torch.Generator,
    step: int,
) -> dict:
    return {
        "model": model.state_dict(),
        "average": average.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "torch_rng": torch.get_rng_state(),
        "data_order_rng": data_order.get_state(),
        "step": step,
    }
