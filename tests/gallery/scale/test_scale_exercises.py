"""The scale exercises' checks reject the mistakes the exercises are about.

The generic checks (solutions pass, blanks are not done) are in
``tests/site/test_exercise_pages.py``.
"""

from __future__ import annotations

import io
import math
import os
import random
import shutil
import tempfile
from pathlib import Path

import torch

from exercise_mistakes import mistake_tests
from pytorch_examples.checkpoints import save_atomically
from pytorch_examples.exercises import scale as ex


def sum_gradients(replicas):
    for copies in zip(*(replica.parameters() for replica in replicas), strict=True):
        total = torch.stack([p.grad for p in copies]).sum(dim=0)
        for p in copies:
            p.grad.copy_(total)


def average_into_rank_0_only(replicas):
    for copies in zip(*(replica.parameters() for replica in replicas), strict=True):
        copies[0].grad.copy_(torch.stack([p.grad for p in copies]).mean(dim=0))


def shard_without_padding(n, rank, world_size, seed, epoch):
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed + epoch)).tolist()
    return order[rank::world_size]


def shard_dropping_the_rest(n, rank, world_size, seed, epoch):
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed + epoch)).tolist()
    share = n // world_size
    return order[rank * share : (rank + 1) * share]


def shard_shuffled_per_rank(n, rank, world_size, seed, epoch):
    generator = torch.Generator().manual_seed(seed + epoch + 1000 * rank)
    order = torch.randperm(n, generator=generator).tolist()
    total = math.ceil(n / world_size) * world_size
    order = (order * world_size)[:total]
    return order[rank:total:world_size]


def shard_ignoring_the_epoch(n, rank, world_size, seed, epoch):
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()
    total = math.ceil(n / world_size) * world_size
    order = (order * world_size)[:total]
    return order[rank:total:world_size]


def save(state, path, *, backup=True, temporary=None, move_old=False, clean=True, keep=True):
    temporary = temporary or path.with_name(path.name + ".tmp")
    try:
        torch.save(state, temporary)
        if backup and path.exists():
            if move_old:
                os.replace(path, path.with_suffix(".bak"))
            else:
                shutil.copy2(path, path.with_suffix(".bak"))
        shutil.move(temporary, path)
    except BaseException as error:
        if clean:
            temporary.unlink(missing_ok=True)
        if keep:
            raise RuntimeError("the save failed") from error


def save_without_a_backup(state, path):
    save_atomically(state, path)


def save_in_place(state, path):
    if path.exists():
        shutil.copy2(path, path.with_suffix(".bak"))
    torch.save(state, path)


def save_through_bytes(state, path):
    buffer = io.BytesIO()
    torch.save(state, buffer)
    if path.exists():
        shutil.copy2(path, path.with_suffix(".bak"))
    path.write_bytes(buffer.getvalue())


def save_moving_the_old_away(state, path):
    save(state, path, move_old=True)


def save_with_the_temporary_file_elsewhere(state, path):
    with tempfile.TemporaryDirectory() as folder:
        save(state, path, temporary=Path(folder) / "checkpoint.tmp")


def save_leaving_the_temporary_file(state, path):
    save(state, path, clean=False)


def save_swallowing_the_error(state, path):
    save(state, path, keep=False)


def test_an_atomic_save_that_raises_a_chained_error_passes():
    result = ex.atomic_save.grade(save)
    assert result.passed, str(result)


def shard_in_contiguous_blocks(n, rank, world_size, seed, epoch):
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed + epoch)).tolist()
    share = math.ceil(n / world_size)
    order = (order * world_size)[: share * world_size]
    return order[rank * share : (rank + 1) * share]


def shard_shuffled_with_python_random(n, rank, world_size, seed, epoch):
    order = list(range(n))
    random.Random(seed + epoch).shuffle(order)
    total = math.ceil(n / world_size) * world_size
    order = (order * world_size)[:total]
    return order[rank:total:world_size]


def checkpoint(model, average, optimizer, scheduler, data_order, step, *, leave_out=()):
    state = {
        "model": model.state_dict(),
        "average": average.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "torch_rng": torch.get_rng_state(),
        "data_order_rng": data_order.get_state(),
        "step": step,
    }
    return {k: v for k, v in state.items() if k not in leave_out}


def checkpoint_without_random_states(*args):
    return checkpoint(*args, leave_out=("torch_rng", "data_order_rng"))


def checkpoint_without_the_average(*args):
    return checkpoint(*args, leave_out=("average",))


def checkpoint_of_objects(model, average, optimizer, scheduler, data_order, step):
    return {**checkpoint(model, average, optimizer, scheduler, data_order, step), "x": data_order}


def checkpoint_with_a_fresh_random_state(*args):
    return {**checkpoint(*args), "torch_rng": torch.Generator().manual_seed(0).get_state()}


def checkpoint_with_a_fresh_scheduler_state(model, average, optimizer, scheduler, *rest):
    fresh = {**scheduler.state_dict(), "last_epoch": 0, "_step_count": 1}
    return {**checkpoint(model, average, optimizer, scheduler, *rest), "scheduler": fresh}


WRONG = {
    "average_gradients": [
        (sum_gradients, "divide the sum by the 2 ranks"),
        (average_into_rank_0_only, "still that rank's own gradient"),
    ],
    "shard_indices": [
        (shard_without_padding, "wait forever at the gradient all-reduce"),
        (shard_dropping_the_rest, "rather than drop the rest"),
        (shard_shuffled_per_rank, "the same seed"),
        (shard_ignoring_the_epoch, "each epoch reshuffles"),
        (shard_in_contiguous_blocks, "a contiguous block"),
        (shard_shuffled_with_python_random, "shuffle with exactly that"),
    ],
    "atomic_save": [
        (save_without_a_backup, "Keep the checkpoint that the save replaces"),
        (save_in_place, "written over in place"),
        (save_through_bytes, "written over in place"),
        (save_moving_the_old_away, "did not exist"),
        (save_with_the_temporary_file_elsewhere, "not beside"),
        (save_leaving_the_temporary_file, "remove the temporary file"),
        (save_swallowing_the_error, "must not look like a success"),
    ],
    "checkpoint_state": [
        (checkpoint_without_random_states, "dropout would draw other masks"),
        (checkpoint_without_the_average, "moving average of the weights"),
        (checkpoint_of_objects, "weights_only=True"),
        (checkpoint_with_a_fresh_random_state, "bit for bit"),
        (checkpoint_with_a_fresh_scheduler_state, "bit for bit"),
    ],
}


# The two tests every exercise section has: each mistake above is rejected, and named.
test_a_common_mistake_is_rejected_and_explained, test_every_exercise_has_a_wrong_answer = (
    mistake_tests(ex, WRONG)
)
