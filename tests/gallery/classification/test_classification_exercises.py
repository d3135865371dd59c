"""The classification exercises' checks reject the mistakes the exercises are about.

The generic checks (solutions pass, blanks are not done) are in
``tests/site/test_exercise_pages.py``.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from exercise_mistakes import mistake_tests
from pytorch_examples.exercises import classification as ex


def accuracy_in_training_mode(model, x, targets):
    with torch.no_grad():
        return (model(x).argmax(dim=1) == targets).float().mean().item()


def accuracy_with_a_graph(model, x, targets):
    model.eval()
    predicted = model(x).argmax(dim=1)
    model.train()
    return (predicted == targets).float().mean().item()


def accuracy_left_in_eval_mode(model, x, targets):
    model.eval()
    with torch.no_grad():
        return (model(x).argmax(dim=1) == targets).float().mean().item()


def accuracy_as_a_count(model, x, targets):
    model.eval()
    with torch.no_grad():
        correct = (model(x).argmax(dim=1) == targets).sum().item()
    model.train()
    return correct


def summed_gradient(logits, targets):
    return logits.softmax(dim=1) - F.one_hot(targets, logits.shape[1])


def flipped_gradient(logits, targets):
    return (F.one_hot(targets, logits.shape[1]) - logits.softmax(dim=1)) / len(logits)


def naive_cross_entropy(logits, targets):
    probabilities = logits.exp() / logits.exp().sum(dim=1, keepdim=True)
    return -probabilities[torch.arange(len(logits)), targets].log().mean()


def log_of_softmax(logits, targets):
    return -(logits.softmax(1)[torch.arange(len(logits)), targets]).log().mean()


def summed_cross_entropy(logits, targets):
    return F.cross_entropy(logits, targets, reduction="sum")


def early_stopping(model, train_one_epoch, validation_loss, patience, max_epochs, *, copy=True):
    best_loss, best_epoch, best_state = float("inf"), 0, None
    for epoch in range(1, max_epochs + 1):
        train_one_epoch()
        loss = validation_loss()
        if loss < best_loss:
            best_loss, best_epoch = loss, epoch
            state = model.state_dict()
            best_state = {k: v.clone() for k, v in state.items()} if copy else state
        if epoch - best_epoch == patience:
            break
    model.load_state_dict(best_state)
    return best_epoch


def early_stopping_without_a_copy(*args):
    return early_stopping(*args, copy=False)


def early_stopping_one_epoch_late(model, train_one_epoch, validation_loss, patience, max_epochs):
    return early_stopping(model, train_one_epoch, validation_loss, patience + 1, max_epochs)


WRONG = {
    "accuracy": [
        (accuracy_in_training_mode, "model.eval()"),
        (accuracy_with_a_graph, "torch.no_grad()"),
        (accuracy_left_in_eval_mode, "model.train()"),
        (accuracy_as_a_count, "number of correct points"),
    ],
    "cross_entropy_gradient": [
        (summed_gradient, "divide by the batch size"),
        (flipped_gradient, "sign is flipped"),
    ],
    "cross_entropy_from_logits": [
        (naive_cross_entropy, "subtract each row's maximum"),
        (log_of_softmax, "never take the log of a probability"),
        (summed_cross_entropy, "the sum over the batch"),
    ],
    "train_with_early_stopping": [
        (early_stopping_without_a_copy, "keep a copy"),
        (early_stopping_one_epoch_late, "it should stop after epoch 8"),
    ],
}


# The two tests every exercise section has: each mistake above is rejected, and named.
test_a_common_mistake_is_rejected_and_explained, test_every_exercise_has_a_wrong_answer = (
    mistake_tests(ex, WRONG)
)
