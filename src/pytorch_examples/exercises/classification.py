"""Exercises for the classification section (logits, softmax, evaluation, early stopping).

Used on :doc:`/auto_examples/classification/plot_classification_exercises`. Each check
makes its own data and models from a fixed seed, so the learner's function meets values
it has not seen.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional as F

from pytorch_examples.exercises._mistakes import expect_close_or_explain
from pytorch_examples.exercises.grading import Exercise, WrongAnswerError, call, expect_close

__all__ = [
    "accuracy",
    "cross_entropy_from_logits",
    "cross_entropy_gradient",
    "train_with_early_stopping",
]


def _accuracy_cases(answer: Callable) -> str:
    generator = torch.Generator().manual_seed(31)
    with torch.random.fork_rng():
        torch.manual_seed(32)
        model = nn.Sequential(nn.Linear(4, 32), nn.ReLU(), nn.Dropout(0.5), nn.Linear(32, 3))
    x = torch.randn(200, 4, generator=generator)
    with torch.no_grad():
        model.eval()
        logits = model(x)
        model.train()
    # Targets that the model gets right on two thirds of the points, in eval mode.
    targets = logits.argmax(dim=1)
    flipped = torch.arange(len(x)) % 3 == 0
    targets[flipped] = (targets[flipped] + 1) % 3
    expected = (logits.argmax(dim=1) == targets).double().mean()
    modes, grad_enabled = [], []

    def record(module: nn.Module, inputs: object, output: object) -> None:
        modes.append(module.training)
        grad_enabled.append(torch.is_grad_enabled())

    hook = model.register_forward_hook(record)
    case = "an MLP with dropout, in training mode, 200 points of 3 classes"
    try:
        with torch.random.fork_rng():
            got = call(answer, model, x.clone(), targets.clone(), case=case)
    finally:
        hook.remove()
    if any(modes):
        raise WrongAnswerError(
            f"On {case}: the model ran in training mode, so dropout zeroed random units and "
            "the accuracy is noisy. Call model.eval() before the forward pass."
        )
    if any(grad_enabled):
        raise WrongAnswerError(
            f"On {case}: the forward pass recorded a graph for backward. Evaluate inside "
            "torch.no_grad(): it saves the memory and time of recording."
        )
    if not model.training:
        raise WrongAnswerError(
            f"On {case}: the model came back in evaluation mode. Put it back with "
            "model.train(), or the training that follows runs without dropout."
        )
    if isinstance(got, torch.Tensor) and got.numel() == 1:
        got = got.reshape(())
    wrong_dim = (logits.argmax(dim=0)[targets] == targets).double().mean()
    expect_close_or_explain(
        got,
        expected,
        case=case,
        atol=1e-6,
        mistakes=(
            (
                expected * len(x),
                "That is the number of correct points: divide by their number.",
            ),
            (wrong_dim, "The class of a point is the argmax over its row, dim=1."),
        ),
    )
    return "Evaluation mode, no graph, training mode restored, and the right fraction."


accuracy = Exercise(
    "accuracy",
    "model.eval(), then inside torch.no_grad(): predictions = model(x).argmax(dim=1); "
    "compare with targets, take the mean of the float, then model.train().",
    _accuracy_cases,
)


def _cross_entropy_gradient_cases(answer: Callable) -> str:
    generator = torch.Generator().manual_seed(33)
    for n, k in ((5, 4), (8, 2), (3, 7)):
        logits = torch.randn(n, k, generator=generator) * 2
        targets = torch.randint(0, k, (n,), generator=generator)
        leaf = logits.clone().requires_grad_()
        F.cross_entropy(leaf, targets).backward()
        case = f"logits of shape ({n}, {k})"
        got = call(answer, logits.clone(), targets.clone(), case=case)
        softmax = logits.softmax(dim=1)
        one_hot = F.one_hot(targets, k).float()
        expect_close_or_explain(
            got,
            leaf.grad,
            case=case,
            atol=1e-6,
            mistakes=(
                (
                    softmax - one_hot,
                    "That is the gradient of the summed loss: the loss is the mean over the "
                    "batch, so divide by the batch size.",
                ),
                (
                    (one_hot - softmax) / n,
                    "The sign is flipped: raising the right class's logit lowers the loss.",
                ),
                (softmax / n, "The target's one-hot vector is missing from the difference."),
            ),
        )
    return "Compared with autograd on 3 batches."


cross_entropy_gradient = Exercise(
    "cross_entropy_gradient",
    "For one point, the derivative of -log softmax(z)[y] with respect to z is "
    "softmax(z) - one_hot(y). The batch loss is a mean.",
    _cross_entropy_gradient_cases,
)


def _cross_entropy_cases(answer: Callable) -> str:
    generator = torch.Generator().manual_seed(34)
    far_below = 120.0  # exp(-120) is below float32's smallest number: it rounds to 0
    for shift, gap, case in (
        (0.0, 0.0, "logits of shape (6, 5) near 0"),
        (1000.0, 0.0, "logits of shape (6, 5) near +1000, where exp overflows in float32"),
        (-1000.0, 0.0, "logits of shape (6, 5) near -1000, where exp underflows to 0"),
        (
            0.0,
            far_below,
            f"logits of shape (6, 5) whose target logit is {far_below:g} below its row's "
            "largest, where the target's probability underflows to 0 in float32",
        ),
    ):
        logits = torch.randn(6, 5, generator=generator) * 3 + shift
        targets = torch.randint(0, 5, (6,), generator=generator)
        if gap:
            rows = torch.arange(len(logits))
            logits[rows, targets] = logits.max(dim=1).values - gap
        got = call(answer, logits.clone(), targets.clone(), case=case)
        expected = F.cross_entropy(logits.double(), targets)
        if isinstance(got, torch.Tensor) and not torch.isfinite(got).all():
            why = (
                "softmax rounds the target's probability to 0 and its log is -inf: never take "
                "the log of a probability; use log softmax(z)[y] = z[y] - log-sum-exp(z)."
                if gap
                else "exp of a large logit is inf and of a very negative one 0, so softmax "
                "gives nan or log gives -inf: subtract each row's maximum before exp "
                "(log-sum-exp)."
            )
            raise WrongAnswerError(
                f"On {case}: expected {expected.item():.6g}, got {got.tolist()}. {why}"
            )
        expect_close_or_explain(
            got,
            expected,
            case=case,
            atol=1e-4,
            rtol=1e-4,
            mistakes=(
                (
                    expected * len(logits),
                    "That is the sum over the batch; the loss is the mean.",
                ),
            ),
        )
    return "4 batches: moderate and extreme logits, and a target far below its row's largest."


cross_entropy_from_logits = Exercise(
    "cross_entropy_from_logits",
    "log softmax(z)[y] = z[y] - log(sum(exp(z))). Subtract each row's maximum m first: "
    "log(sum(exp(z))) = m + log(sum(exp(z - m))), and exp(z - m) is at most 1.",
    _cross_entropy_cases,
)


class _EpochCounter(nn.Module):
    """A stand-in model whose bias holds the number of the epoch that last trained it."""

    def __init__(self) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(3))


def _early_stopping_cases(answer: Callable) -> str:
    scenarios = (
        ((5.0, 4.0, 3.5, 3.6, 3.2, 3.3, 3.4, 3.25, 3.0, 2.0, 1.0), 3, 12),
        ((9.0, 8.0, 7.0, 6.0, 5.0), 2, 5),
        ((2.0, 2.5, 1.5, 1.6, 1.5, 1.7, 1.4), 1, 20),
    )
    for losses, patience, max_epochs in scenarios:
        # The first epoch that is `patience` epochs after the best so far, or the end.
        stop, best_so_far = min(len(losses), max_epochs), 1
        for epoch in range(1, stop + 1):
            if losses[epoch - 1] < losses[best_so_far - 1]:
                best_so_far = epoch
            if epoch - best_so_far == patience:
                stop = epoch
                break
        best = best_so_far
        case = f"validation losses {list(losses)}, patience {patience}, at most {max_epochs}"
        model, trained = _EpochCounter(), []

        def train_one_epoch(model: nn.Module = model, trained: list = trained) -> None:
            trained.append(len(trained) + 1)
            with torch.no_grad():
                model.bias.fill_(len(trained))

        def validation_loss(
            trained: list = trained, losses: tuple = losses, case: str = case, stop: int = stop
        ) -> float:
            if len(trained) > len(losses):
                raise WrongAnswerError(
                    f"On {case}: your loop went on training after epoch {len(losses)}; it "
                    f"should stop after epoch {stop}."
                )
            return losses[len(trained) - 1]

        got = call(
            answer, model, train_one_epoch, validation_loss, patience, max_epochs, case=case
        )
        if len(trained) != stop:
            raise WrongAnswerError(
                f"On {case}: your loop trained {len(trained)} epochs; it should stop after "
                f"epoch {stop}: "
                + (
                    f"{patience} epochs after the best, epoch {best}."
                    if stop < min(len(losses), max_epochs)
                    else "the cap, as the loss kept improving."
                )
            )
        restored = model.bias.detach()
        if not torch.all(restored == best):
            raise WrongAnswerError(
                f"On {case}: the model holds the weights of epoch {int(restored[0])}, not "
                f"those of the best epoch, {best}. model.state_dict() returns the live "
                "tensors, which training goes on changing: keep a copy "
                "(copy.deepcopy(model.state_dict())) and load it at the end."
            )
        expect_close(got, float(best), case=case + ", the returned best epoch", atol=0)
    return "3 runs: stopped at the right epoch, best weights restored, best epoch returned."


train_with_early_stopping = Exercise(
    "train_with_early_stopping",
    "Keep the lowest validation loss so far, its epoch, and copy.deepcopy(model."
    "state_dict()) whenever it improves; stop when epoch - best_epoch == patience; "
    "model.load_state_dict(best_state) at the end.",
    _early_stopping_cases,
)
