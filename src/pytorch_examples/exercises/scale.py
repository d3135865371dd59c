"""Exercises for the scale section, checked on inputs the pages never show.

Used on :doc:`/auto_examples/scale/plot_scale_exercises`. Several "ranks" are simulated
in one process (copies of a model, calls with different ranks), and checkpoints go to a
temporary folder the check removes; nothing starts a process or needs a network.
"""

from __future__ import annotations

import copy
import io
import math
import pickle
import tempfile
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from pytorch_examples.exercises._mistakes import matches
from pytorch_examples.exercises.grading import Exercise, WrongAnswerError, call

__all__ = ["atomic_save", "average_gradients", "checkpoint_state", "shard_indices"]


# average_gradients


def _small_model(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 2))


def _average_gradients_cases(answer) -> str:
    generator = torch.Generator().manual_seed(1001)
    inputs, targets = (
        torch.randn(12, 3, generator=generator),
        torch.randn(12, 2, generator=generator),
    )
    world_sizes = (2, 3, 4)
    for world_size in world_sizes:
        with torch.random.fork_rng(devices=[]):
            model = _small_model(world_size)
        F.mse_loss(model(inputs), targets).backward()
        expected = {name: p.grad.clone() for name, p in model.named_parameters()}
        replicas = [copy.deepcopy(model) for _ in range(world_size)]
        for replica, x, y in zip(
            replicas, inputs.chunk(world_size), targets.chunk(world_size), strict=True
        ):
            replica.zero_grad()
            F.mse_loss(replica(x), y).backward()  # each rank's gradient on its own shard
        own = [{n: p.grad.clone() for n, p in r.named_parameters()} for r in replicas]
        case = f"{world_size} ranks with 12 / {world_size} examples each"
        call(answer, replicas, case=case)
        for rank, replica in enumerate(replicas):
            for name, parameter in replica.named_parameters():
                got = parameter.grad
                if got is not None and torch.allclose(got, expected[name], atol=1e-6, rtol=1e-5):
                    continue
                where = f"On {case}, rank {rank}, the gradient of {name}"
                if got is not None and matches(got, world_size * expected[name], 1e-6, 1e-5):
                    raise WrongAnswerError(
                        f"{where} is {world_size} times the big-batch gradient: an all-reduce "
                        f"sums the ranks' gradients; divide the sum by the {world_size} ranks."
                    )
                if got is not None and torch.equal(got, own[rank][name]):
                    raise WrongAnswerError(
                        f"{where} is still that rank's own gradient. Every rank must end with "
                        "the average, or the copies of the model take different steps and "
                        "drift apart."
                    )
                error = "None" if got is None else f"{(got - expected[name]).abs().max():.3g}"
                raise WrongAnswerError(
                    f"{where} differs from the gradient of the whole batch of 12 (largest "
                    f"difference {error}, tolerance 1e-06 + 1e-05 x |expected|)"
                )
    return (
        f"every rank holds the whole batch's gradient with {', '.join(map(str, world_sizes))} "
        "ranks"
    )


average_gradients = Exercise(
    "average_gradients",
    "zip(*(replica.parameters() for replica in replicas)) gives the copies of one "
    "parameter together; stack their .grad, take the mean over the ranks, and copy_ it "
    "into each.",
    _average_gradients_cases,
)


# shard_indices


def _shard_indices_cases(answer) -> str:
    settings = ((12, 4), (10, 3), (7, 4), (2, 3))
    seed = 5
    for n, world_size in settings:
        share = math.ceil(n / world_size)
        padding = share * world_size - n
        orders = []
        for epoch in (0, 1):
            case = f"{n} examples, {world_size} ranks, epoch {epoch}"
            shards = []
            for rank in range(world_size):
                got = call(answer, n, rank, world_size, seed, epoch, case=case)
                shard = torch.as_tensor(got).tolist() if got is not None else None
                if not isinstance(shard, list) or not all(isinstance(i, int) for i in shard):
                    raise WrongAnswerError(
                        f"On {case}, rank {rank}: expected a list of ints, got {got!r}"
                    )
                shards.append(shard)
            sizes = [len(shard) for shard in shards]
            if len(set(sizes)) > 1:
                raise WrongAnswerError(
                    f"On {case}: the ranks got {sizes} indices; expected {share} each, "
                    f"ceil({n} / {world_size}). Ranks with unequal shares take different "
                    "numbers of steps, and the others wait forever at the gradient all-reduce: "
                    f"pad the order with its first {padding} indices."
                )
            if sizes[0] != share:
                raise WrongAnswerError(
                    f"On {case}: each rank got {sizes[0]} indices; expected {share}, "
                    f"ceil({n} / {world_size}), so that no example is left out: pad the order "
                    f"with its first {padding} indices rather than drop the rest."
                )
            everything = [i for shard in shards for i in shard]
            missing = sorted(set(range(n)) - set(everything))
            if missing or not set(everything) <= set(range(n)):
                raise WrongAnswerError(
                    f"On {case}: indices {missing or sorted(set(everything) - set(range(n)))} "
                    f"are {'missing' if missing else 'out of range'}. Every rank must shuffle "
                    "with the same seed (seed + epoch, not the rank), so that the shares of "
                    "one permutation fit together."
                )
            repeats = len(everything) - n
            if repeats != padding:
                raise WrongAnswerError(
                    f"On {case}: {repeats} indices appear twice; padding needs exactly "
                    f"{padding}, and shards must not otherwise overlap."
                )
            again = call(answer, n, world_size - 1, world_size, seed, epoch, case=case)
            if torch.as_tensor(again).tolist() != shards[-1]:
                raise WrongAnswerError(
                    f"On {case}: two calls with the same arguments gave different shards; "
                    "shuffle with a torch.Generator seeded from seed and epoch."
                )
            orders.append(everything)
        if n > 3 and orders[0] == orders[1]:
            raise WrongAnswerError(
                f"On {n} examples, {world_size} ranks: epochs 0 and 1 gave the same shards. "
                "Seed the shuffle with seed + epoch, as set_epoch does, so that each epoch "
                "reshuffles."
            )
    return f"equal, covering shards, reshuffled each epoch, on {len(settings)} settings"


shard_indices = Exercise(
    "shard_indices",
    "torch.randperm(n, generator=torch.Generator().manual_seed(seed + epoch)) is the same "
    "on every rank; repeat its start until the length is a multiple of world_size, then "
    "take every world_size-th index from position rank.",
    _shard_indices_cases,
)


# atomic_save


class _FailsWhileSaving:
    """An object whose pickling fails, standing in for a crash in the middle of a save."""

    def __reduce__(self):
        raise OSError("simulated crash in the middle of the save")


def _atomic_save_cases(answer) -> str:
    with tempfile.TemporaryDirectory(prefix="atomic-save-") as folder:
        path = Path(folder) / "checkpoint.pt"
        for step in (1, 2):
            state = {"step": step, "weights": torch.full((3,), float(step))}
            case = f"saving step {step} to {path.name}" + (" over step 1" if step == 2 else "")
            call(answer, state, path, case=case)
            if not path.exists():
                raise WrongAnswerError(f"On {case}: {path.name} does not exist afterwards.")
            loaded = torch.load(path, weights_only=True)
            if loaded.get("step") != step or not torch.equal(loaded["weights"], state["weights"]):
                raise WrongAnswerError(
                    f"On {case}: {path.name} holds step {loaded.get('step')}, expected {step}."
                )
            others = sorted(p.name for p in Path(folder).iterdir() if p != path)
            if others:
                raise WrongAnswerError(f"On {case}: files were left beside it: {others}")

        case = "a save that crashes halfway, over a good checkpoint of step 2"
        try:
            call(answer, {"step": 3, "crash": _FailsWhileSaving()}, path, case=case)
        except WrongAnswerError as error:
            if not isinstance(error.__cause__, OSError):
                raise
        else:
            raise WrongAnswerError(
                f"On {case}: no error came out of your function. Let the error through (re-"
                "raise it after cleaning up): a failed save must not look like a success."
            )
        try:
            survivor = torch.load(path, weights_only=True)
        except (RuntimeError, OSError, EOFError, pickle.UnpicklingError) as error:
            raise WrongAnswerError(
                f"On {case}: the old checkpoint did not survive; torch.load now fails on it "
                f"({type(error).__name__}). Write to a temporary file in the same folder, "
                "then os.replace it over the checkpoint."
            ) from None
        if survivor.get("step") != 2:
            raise WrongAnswerError(
                f"On {case}: the checkpoint holds step {survivor.get('step')}, expected 2."
            )
        others = sorted(p.name for p in Path(folder).iterdir() if p != path)
        if others:
            raise WrongAnswerError(
                f"On {case}: the checkpoint survived, but {others} was left behind; remove "
                "the temporary file when the save fails."
            )
    return "saves and replaces; a crash mid-save keeps the old checkpoint and leaves no file"


atomic_save = Exercise(
    "atomic_save",
    "Write to path.with_name(path.name + '.tmp') with torch.save, then os.replace(tmp, path). "
    "Put both in try/except BaseException: unlink the temporary file, then `raise`.",
    _atomic_save_cases,
)


# checkpoint_state

CHECKPOINT_KEYS = ("model", "optimizer", "torch_rng", "data_order_rng")
MISSING_EXPLAINED = {
    "model": "the weights",
    "optimizer": "Adam's running moments; without them its next steps differ",
    "torch_rng": "the global generator's state (torch.get_rng_state()); dropout would draw "
    "other masks",
    "data_order_rng": "the data order's generator state (data_order.get_state()); the "
    "batches would come in another order",
}
STOP_AFTER, N_STEPS = 3, 6


def _new_run(seed: int) -> tuple[nn.Module, torch.optim.Optimizer, torch.Generator]:
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    return model, optimizer, torch.Generator().manual_seed(seed)


def _train(run, inputs: torch.Tensor, targets: torch.Tensor, steps: int) -> None:
    model, optimizer, data_order = run
    for _ in range(steps):
        batch = torch.randperm(len(inputs), generator=data_order)[:8]
        loss = F.mse_loss(model(inputs[batch]), targets[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def _checkpoint_state_cases(answer) -> str:
    generator = torch.Generator().manual_seed(1101)
    inputs = torch.randn(40, 2, generator=generator)
    targets = inputs.sum(dim=1, keepdim=True).sin()
    case = (
        f"a network with dropout, Adam and shuffled batches, stopped after {STOP_AFTER} of "
        f"{N_STEPS} steps and resumed in a new run"
    )
    with torch.random.fork_rng(devices=[]):  # leave the learner's global generator alone
        uninterrupted = _new_run(0)
        _train(uninterrupted, inputs, targets, N_STEPS)

        stopped = _new_run(0)
        _train(stopped, inputs, targets, STOP_AFTER)
        state = call(answer, *stopped, case=case)
        if not isinstance(state, dict):
            raise WrongAnswerError(f"On {case}: expected a dict, got {type(state).__name__}")
        buffer = io.BytesIO()
        torch.save(state, buffer)
        buffer.seek(0)
        try:
            state = torch.load(buffer, weights_only=True)
        except pickle.UnpicklingError as error:
            raise WrongAnswerError(
                f"On {case}: torch.load(weights_only=True) refuses your checkpoint; it holds "
                "objects, not state: save model.state_dict(), optimizer.state_dict() and the "
                "generators' states (tensors)."
            ) from error
        missing = [key for key in CHECKPOINT_KEYS if key not in state]
        if missing:
            raise WrongAnswerError(
                f"On {case}: the checkpoint lacks {missing}: "
                + "; ".join(f"{key} holds {MISSING_EXPLAINED[key]}" for key in missing)
            )
        resumed = _new_run(1)  # another seed: nothing carries over but the checkpoint
        model, optimizer, data_order = resumed
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["torch_rng"])
        data_order.set_state(state["data_order_rng"])
        _train(resumed, inputs, targets, N_STEPS - STOP_AFTER)

    for (name, got), want in zip(
        model.named_parameters(), uninterrupted[0].parameters(), strict=True
    ):
        if not torch.equal(got, want):
            raise WrongAnswerError(
                f"On {case}: parameter {name} ends {(got - want).abs().max():.3g} away from "
                "the run that never stopped (expected bit for bit equal): some entry of the "
                "checkpoint is not the stopped run's state at the moment it was saved."
            )
    return f"the resumed run ends bit for bit where an uninterrupted run of {N_STEPS} steps ends"


checkpoint_state = Exercise(
    "checkpoint_state",
    "Each object has a method that returns its state as tensors and plain containers: "
    "state_dict() for the model and the optimizer, torch.get_rng_state() for the global "
    "generator, get_state() for a torch.Generator.",
    _checkpoint_state_cases,
)
