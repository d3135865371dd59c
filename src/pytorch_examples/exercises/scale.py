"""Exercises for the scale section, checked on inputs the pages never show.

Used on :doc:`/auto_examples/scale/plot_scale_exercises`. Several "ranks" are simulated
in one process (copies of a model, calls with different ranks), and checkpoints go to a
temporary folder the check removes; nothing starts a process or needs a network.
"""

from __future__ import annotations

import copy
import io
import math
import os
import pickle
import tempfile
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from torch.utils.data import DistributedSampler

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
    produced = []
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
            produced.append((case, n, world_size, epoch, shards))
            orders.append(everything)
        if n > 3 and orders[0] == orders[1]:
            raise WrongAnswerError(
                f"On {n} examples, {world_size} ranks: epochs 0 and 1 gave the same shards. "
                "Seed the shuffle with seed + epoch, as set_epoch does, so that each epoch "
                "reshuffles."
            )
    # What the task prescribes, exactly: checked last, so that the mistakes above are named.
    for case, n, world_size, epoch, shards in produced:
        share = math.ceil(n / world_size)
        for rank, shard in enumerate(shards):
            sampler = DistributedSampler(
                range(n), num_replicas=world_size, rank=rank, shuffle=True, seed=seed
            )
            sampler.set_epoch(epoch)
            expected = list(sampler)
            if shard == expected:
                continue
            order = torch.randperm(
                n, generator=torch.Generator().manual_seed(seed + epoch)
            ).tolist()
            padded = (order * world_size)[: share * world_size]
            if shard == padded[rank * share : (rank + 1) * share]:
                why = (
                    "a contiguous block of the order; take every world_size-th index "
                    "from position rank, as DistributedSampler does"
                )
            else:
                why = (
                    "not from the order torch.randperm(n, generator=torch.Generator()"
                    ".manual_seed(seed + epoch)) gives; shuffle with exactly that"
                )
            raise WrongAnswerError(
                f"On {case}, rank {rank}: expected {expected}, DistributedSampler's "
                f"indices, got {shard}: {why}."
            )
    return (
        f"DistributedSampler's shards (equal, covering, reshuffled each epoch) on "
        f"{len(settings)} settings"
    )


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


class _Renames:
    """Record every os.replace and os.rename while in use, and whether ``path`` survived each."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.onto_path: list[Path] = []  # the sources of renames onto path
        self.path_vanished = False

    def _wrap(self, rename):
        def recorded(source, target, *args, **kwargs):
            existed = self.path.exists()
            result = rename(source, target, *args, **kwargs)
            if Path(target) == self.path:
                self.onto_path.append(Path(source))
            if existed and not self.path.exists():
                self.path_vanished = True
            return result

        return recorded

    def __enter__(self) -> _Renames:
        self._saved = os.replace, os.rename
        os.replace, os.rename = (self._wrap(f) for f in self._saved)
        return self

    def __exit__(self, *exc: object) -> None:
        os.replace, os.rename = self._saved


def _holds(path: Path, step: int) -> bool:
    return torch.load(path, weights_only=True).get("step") == step


def _atomic_save_cases(answer) -> str:
    with tempfile.TemporaryDirectory(prefix="atomic-save-") as folder:
        path = Path(folder) / "checkpoint.pt"
        backup = path.with_suffix(".bak")
        for step in (1, 2, 3):
            state = {"step": step, "weights": torch.full((3,), float(step))}
            case = f"saving step {step} to {path.name}" + (
                f" over step {step - 1}" if step > 1 else ", a new file"
            )
            before = path.stat().st_ino if path.exists() else None
            with _Renames(path) as renames:
                call(answer, state, path, case=case)
            if not path.exists():
                raise WrongAnswerError(f"On {case}: {path.name} does not exist afterwards.")
            loaded = torch.load(path, weights_only=True)
            if loaded.get("step") != step or not torch.equal(loaded["weights"], state["weights"]):
                raise WrongAnswerError(
                    f"On {case}: {path.name} holds step {loaded.get('step')}, expected {step}."
                )
            if step == 1 and backup.exists():
                raise WrongAnswerError(
                    f"On {case}: {backup.name} exists, but there was no checkpoint to keep."
                )
            if step > 1:
                if not backup.exists():
                    raise WrongAnswerError(
                        f"On {case}: no {backup.name}. Keep the checkpoint that the save "
                        f"replaces as path.with_suffix('.bak')."
                    )
                if not _holds(backup, step - 1):
                    raise WrongAnswerError(
                        f"On {case}: {backup.name} should hold step {step - 1}, the "
                        "checkpoint this save replaced."
                    )
                if path.stat().st_ino == before:
                    raise WrongAnswerError(
                        f"On {case}: {path.name} was written over in place (it is the same "
                        "file as before), so a crash halfway would leave it half written. "
                        "Write a temporary file beside it, then os.replace it over path."
                    )
                if renames.path_vanished:
                    raise WrongAnswerError(
                        f"On {case}: for a moment {path.name} did not exist (you moved it "
                        "away before putting the new one in place); a crash then leaves no "
                        "checkpoint at path. Copy it to the backup (shutil.copy2) instead."
                    )
                outside = [s.parent for s in renames.onto_path if s.parent != path.parent]
                if outside:
                    raise WrongAnswerError(
                        f"On {case}: the temporary file was in {outside[0]}, not beside "
                        f"{path.name}. os.replace is atomic only within one file system, "
                        "and another folder may be on another one: write it in path.parent."
                    )
            others = sorted(p.name for p in Path(folder).iterdir() if p not in (path, backup))
            if others:
                raise WrongAnswerError(f"On {case}: files were left beside it: {others}")

        case = "a save that crashes halfway, over a good checkpoint of step 3"
        try:
            call(answer, {"step": 4, "crash": _FailsWhileSaving()}, path, case=case)
        except WrongAnswerError as error:
            cause = error.__cause__
            while cause is not None and not isinstance(cause, OSError):
                cause = cause.__cause__  # the original error, chained with `raise ... from`
            if cause is None:
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
        if survivor.get("step") != 3:
            raise WrongAnswerError(
                f"On {case}: the checkpoint holds step {survivor.get('step')}, expected 3."
            )
        others = sorted(p.name for p in Path(folder).iterdir() if p not in (path, backup))
        if others:
            raise WrongAnswerError(
                f"On {case}: the checkpoint survived, but {others} was left behind; remove "
                "the temporary file when the save fails."
            )
    return (
        "replaced atomically from beside path, the previous checkpoint kept as .bak; a crash "
        "mid-save keeps the old checkpoint and leaves no file"
    )


atomic_save = Exercise(
    "atomic_save",
    "Write to path.with_name(path.name + '.tmp') with torch.save; if path exists, "
    "shutil.copy2 it to path.with_suffix('.bak'); then os.replace(tmp, path). Put it all "
    "in try/except BaseException: unlink the temporary file, then `raise`.",
    _atomic_save_cases,
)


# checkpoint_state

CHECKPOINT_KEYS = (
    "model",
    "average",
    "optimizer",
    "scheduler",
    "torch_rng",
    "data_order_rng",
    "step",
)
MISSING_EXPLAINED = {
    "model": "the weights",
    "average": "the moving average of the weights (average.state_dict()); it would restart "
    "from the resumed run's first weights",
    "optimizer": "Adam's running moments; without them its next steps differ",
    "scheduler": "the schedule's position (scheduler.state_dict()); the learning rate would "
    "start its decay again",
    "torch_rng": "the global generator's state (torch.get_rng_state()); dropout would draw "
    "other masks",
    "data_order_rng": "the data order's generator state (data_order.get_state()); the "
    "batches would come in another order",
    "step": "the number of steps done, which tells the resumed run where to carry on",
}
STOP_AFTER, N_STEPS = 4, 9
EMA_DECAY = 0.8


def _new_run(seed: int) -> dict:
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    return {
        "model": model,
        "average": AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(EMA_DECAY)),
        "optimizer": optimizer,
        "scheduler": torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=N_STEPS),
        "data_order": torch.Generator().manual_seed(seed),
        "step": 0,
    }


def _train(run: dict, inputs: torch.Tensor, targets: torch.Tensor, until: int) -> None:
    while run["step"] < until:
        batch = torch.randperm(len(inputs), generator=run["data_order"])[:8]
        loss = F.mse_loss(run["model"](inputs[batch]), targets[batch])
        run["optimizer"].zero_grad()
        loss.backward()
        run["optimizer"].step()
        run["scheduler"].step()
        run["average"].update_parameters(run["model"])
        run["step"] += 1


def _checkpoint_state_cases(answer) -> str:
    generator = torch.Generator().manual_seed(1101)
    inputs = torch.randn(40, 2, generator=generator)
    targets = inputs.sum(dim=1, keepdim=True).sin()
    case = (
        f"a network with dropout, Adam, a cosine schedule, a moving average of its weights "
        f"and shuffled batches, stopped after {STOP_AFTER} of {N_STEPS} steps and resumed "
        "in a new run"
    )
    arguments = ("model", "average", "optimizer", "scheduler", "data_order", "step")
    with torch.random.fork_rng(devices=[]):  # leave the learner's global generator alone
        uninterrupted = _new_run(0)
        _train(uninterrupted, inputs, targets, N_STEPS)

        stopped = _new_run(0)
        _train(stopped, inputs, targets, STOP_AFTER)
        state = call(answer, *(stopped[name] for name in arguments), case=case)
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
                "objects, not state: save the state_dict() of the model, the average, the "
                "optimizer and the scheduler, the generators' states (tensors) and the step."
            ) from error
        missing = [key for key in CHECKPOINT_KEYS if key not in state]
        if missing:
            raise WrongAnswerError(
                f"On {case}: the checkpoint lacks {missing}: "
                + "; ".join(f"{key} holds {MISSING_EXPLAINED[key]}" for key in missing)
            )
        if not isinstance(state["step"], int) or state["step"] != STOP_AFTER:
            raise WrongAnswerError(
                f"On {case}: the checkpoint's step is {state['step']!r}, expected the int "
                f"{STOP_AFTER}, the number of steps the stopped run had taken."
            )
        resumed = _new_run(1)  # another seed: nothing carries over but the checkpoint
        for name in ("model", "average", "optimizer", "scheduler"):
            resumed[name].load_state_dict(state[name])
        torch.set_rng_state(state["torch_rng"])
        resumed["data_order"].set_state(state["data_order_rng"])
        resumed["step"] = state["step"]
        _train(resumed, inputs, targets, N_STEPS)

    for part in ("model", "average"):
        for (name, got), want in zip(
            resumed[part].named_parameters(), uninterrupted[part].parameters(), strict=True
        ):
            if not torch.equal(got, want):
                raise WrongAnswerError(
                    f"On {case}: {part} parameter {name} ends {(got - want).abs().max():.3g} "
                    "away from the run that never stopped (expected bit for bit equal): some "
                    "entry of the checkpoint is not the stopped run's state at the moment it "
                    "was saved."
                )
    return (
        f"the resumed run and its moving average end bit for bit where an uninterrupted run "
        f"of {N_STEPS} steps ends"
    )


checkpoint_state = Exercise(
    "checkpoint_state",
    "Each object has a method that returns its state as tensors and plain containers: "
    "state_dict() for the model, the average, the optimizer and the scheduler, "
    "torch.get_rng_state() for the global generator, get_state() for a torch.Generator; "
    "the step is a plain int.",
    _checkpoint_state_cases,
)
