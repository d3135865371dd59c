"""Character-level language models of names: counts, evaluation, sampling, an MLP.

A model here is anything that maps a batch of contexts, shape ``(batch,
context_length)`` of character indices, to logits over the next character, shape
``(batch, vocab_size)``: an :class:`torch.nn.Module` or a plain function.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator

import torch
from torch import nn
from torch.nn import functional as F

from pytorch_examples._checks import check_positive_int
from pytorch_examples.names import CharVocabulary

NextCharModel = Callable[[torch.Tensor], torch.Tensor]


def bigram_counts(contexts: torch.Tensor, targets: torch.Tensor, vocab_size: int) -> torch.Tensor:
    """Count how often each character follows each other character.

    Parameters
    ----------
    contexts : torch.Tensor
        Previous characters, shape ``(n,)`` or ``(n, 1)``.
    targets : torch.Tensor
        Next characters, shape ``(n,)``.
    vocab_size : int
        Number of symbols.

    Returns
    -------
    torch.Tensor
        ``counts[i, j]``, the number of times ``j`` follows ``i``; shape
        ``(vocab_size, vocab_size)``, ``int64``.
    """
    vocab_size = check_positive_int("vocab_size", vocab_size)
    previous = contexts.reshape(-1)
    if previous.shape != targets.shape:
        raise ValueError(
            "contexts must hold one previous character per target, got shapes "
            f"{tuple(contexts.shape)} and {tuple(targets.shape)}"
        )
    flat = torch.bincount(previous * vocab_size + targets, minlength=vocab_size**2)
    return flat.reshape(vocab_size, vocab_size)


@contextlib.contextmanager
def eval_mode(model: NextCharModel) -> Iterator[None]:
    """Put a module in evaluation mode for a block, then restore its previous mode.

    Layers such as batch normalization behave differently in the two modes, so every
    evaluation and every sample must run in evaluation mode. Plain functions pass
    through unchanged.
    """
    if not isinstance(model, nn.Module):
        yield
        return
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)


@torch.no_grad()
def evaluate_loss(
    model: NextCharModel,
    contexts: torch.Tensor,
    targets: torch.Tensor,
    batch_size: int = 8192,
) -> float:
    """Mean cross-entropy (negative log-likelihood, in nats) of ``model`` on a data set.

    Runs in evaluation mode and without gradients, in batches to bound memory.

    Parameters
    ----------
    model : callable
        Maps contexts to logits (or log-probabilities) over the next character.
    contexts, targets : torch.Tensor
        The pairs to score, as made by :func:`pytorch_examples.names.context_pairs`.
    batch_size : int
        Pairs scored at once.

    Returns
    -------
    float
        The mean loss per predicted character.
    """
    batch_size = check_positive_int("batch_size", batch_size)
    if len(contexts) != len(targets) or len(targets) == 0:
        raise ValueError(
            f"need as many contexts as targets, and at least one; got {len(contexts)} "
            f"and {len(targets)}"
        )
    total = 0.0
    with eval_mode(model):
        for start in range(0, len(targets), batch_size):
            logits = model(contexts[start : start + batch_size])
            batch_targets = targets[start : start + batch_size]
            total += F.cross_entropy(logits, batch_targets, reduction="sum").item()
    return total / len(targets)


@torch.no_grad()
def sample_names(
    model: NextCharModel,
    vocab: CharVocabulary,
    n_names: int,
    context_length: int,
    *,
    generator: torch.Generator,
    max_length: int = 30,
) -> list[str]:
    """Draw names character by character from a model's next-character distribution.

    Every name starts from a context of boundary symbols and ends when the model
    draws the boundary symbol (or at ``max_length`` characters). All names are drawn
    in parallel, one character per model call.

    Parameters
    ----------
    model : callable
        Maps contexts to logits over the next character; run in evaluation mode.
    vocab : CharVocabulary
        Decodes the drawn indices.
    n_names : int
        How many names to draw.
    context_length : int
        The model's context length.
    generator : torch.Generator
        Source of randomness; the same seed gives the same names.
    max_length : int
        Longest name returned.

    Returns
    -------
    list of str
        The names, without the boundary symbol.
    """
    n_names = check_positive_int("n_names", n_names)
    context_length = check_positive_int("context_length", context_length)
    max_length = check_positive_int("max_length", max_length)
    boundary = vocab.encode(".")[0]
    context = torch.full((n_names, context_length), boundary, dtype=torch.long)
    drawn = torch.full((n_names, max_length), boundary, dtype=torch.long)
    finished = torch.zeros(n_names, dtype=torch.bool)
    with eval_mode(model):
        for position in range(max_length):
            probabilities = F.softmax(model(context), dim=1)
            next_char = torch.multinomial(probabilities, 1, generator=generator).squeeze(1)
            next_char[finished] = boundary
            drawn[:, position] = next_char
            finished |= next_char == boundary
            if finished.all():
                break
            context = torch.cat([context[:, 1:], next_char.unsqueeze(1)], dim=1)
    return [vocab.decode(row).split(".")[0] for row in drawn]


def uniform_loss(vocab_size: int) -> float:
    """Cross-entropy of a model that gives every symbol the same probability: ln V."""
    return math.log(check_positive_int("vocab_size", vocab_size))


class MLPLanguageModel(nn.Module):
    """A multilayer perceptron that reads a fixed window of characters.

    Embedding table, then a hidden layer with batch normalization and tanh, then a
    linear output layer, as in Bengio et al. (2003), "A Neural Probabilistic Language
    Model". Batch normalization sits between the hidden layer's weights and its
    nonlinearity, so the weights need no bias.

    Parameters
    ----------
    vocab_size : int
        Number of symbols.
    context_length : int
        Characters the model reads.
    embedding_dim : int
        Size of each character's vector.
    hidden_dim : int
        Width of the hidden layer.
    """

    def __init__(
        self, vocab_size: int, context_length: int, embedding_dim: int, hidden_dim: int
    ) -> None:
        super().__init__()
        self.context_length = check_positive_int("context_length", context_length)
        self.embedding = nn.Embedding(
            check_positive_int("vocab_size", vocab_size),
            check_positive_int("embedding_dim", embedding_dim),
        )
        self.hidden = nn.Sequential(
            nn.Linear(
                context_length * embedding_dim,
                check_positive_int("hidden_dim", hidden_dim),
                bias=False,
            ),
            nn.BatchNorm1d(hidden_dim),
            nn.Tanh(),
        )
        self.output = nn.Linear(hidden_dim, vocab_size)
        # A small last layer makes the first predictions nearly uniform, so training
        # starts at a loss near ln(vocab_size) instead of confidently wrong.
        with torch.no_grad():
            self.output.weight.mul_(0.1)
            self.output.bias.zero_()

    def forward(self, contexts: torch.Tensor) -> torch.Tensor:
        """Return next-character logits, shape ``(batch, vocab_size)``."""
        if contexts.ndim != 2 or contexts.shape[1] != self.context_length:
            raise ValueError(
                f"contexts must have shape (batch, {self.context_length}), "
                f"got {tuple(contexts.shape)}"
            )
        vectors = self.embedding(contexts).flatten(start_dim=1)
        return self.output(self.hidden(vectors))
