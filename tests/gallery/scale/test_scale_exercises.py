"""The scale exercises' checks reject the mistakes the exercises are about.

The generic checks (solutions pass, blanks are not done) are in
``tests/site/test_exercise_pages.py``.
"""

from __future__ import annotations

import math
import os

import pytest
import torch

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


def save_in_place(state, path):
    torch.save(state, path)


def save_leaving_the_temporary_file(state, path):
    temporary = path.with_name(path.name + ".tmp")
    torch.save(state, temporary)
    os.replace(temporary, path)


def save_swallowing_the_error(state, path):
    temporary = path.with_name(path.name + ".tmp")
    try:
        torch.save(state, temporary)
        os.replace(temporary, path)
    except OSError:
        temporary.unlink(missing_ok=True)


def checkpoint_without_random_states(model, optimizer, data_order):
    return {"model": model.state_dict(), "optimizer": optimizer.state_dict()}


def checkpoint_of_objects(model, optimizer, data_order):
    return {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "torch_rng": torch.get_rng_state(),
        "data_order_rng": data_order,
    }


def checkpoint_with_a_fresh_random_state(model, optimizer, data_order):
    return {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "torch_rng": torch.Generator().manual_seed(0).get_state(),
        "data_order_rng": data_order.get_state(),
    }


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
    ],
    "atomic_save": [
        (save_in_place, "the old checkpoint did not survive"),
        (save_leaving_the_temporary_file, "remove the temporary file"),
        (save_swallowing_the_error, "must not look like a success"),
    ],
    "checkpoint_state": [
        (checkpoint_without_random_states, "dropout would draw other masks"),
        (checkpoint_of_objects, "weights_only=True"),
        (checkpoint_with_a_fresh_random_state, "bit for bit"),
    ],
}


@pytest.mark.parametrize(
    ("name", "answer", "says"),
    [(name, answer, says) for name, wrongs in WRONG.items() for answer, says in wrongs],
    ids=lambda v: getattr(v, "__name__", None),
)
def test_a_common_mistake_is_rejected_and_explained(name, answer, says):
    result = getattr(ex, name).grade(answer)
    assert result.verdict == "wrong", str(result)
    assert result.message.startswith("On "), f"the message names no case: {result.message}"
    assert says in result.message, result.message


def test_every_exercise_has_a_wrong_answer():
    assert set(WRONG) == {k for k, v in vars(ex).items() if isinstance(v, ex.Exercise)}
