"""Tools the character-level language-model pages share: bigram counts and sampling.

A model here is anything that maps a batch of contexts, shape ``(batch,
context_length)`` of character indices, to logits over the next character, shape
``(batch, vocab_size)``: an :class:`torch.nn.Module` or a plain function.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch.nn import functional as F

from pytorch_examples._checks import check_positive_int
from pytorch_examples.data.names import CharVocabulary
from pytorch_examples.evaluation import eval_mode

NextCharModel = Callable[[torch.Tensor], torch.Tensor]


def bigram_counts(contexts: torch.Tensor, targets: torch.Tensor, vocab_size: int) -> torch.Tensor:
    """Count how often each character follows each other character.

    Taught on :ref:`sphx_glr_auto_examples_language_plot_bigram_counts.py`.

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

    The loop is written out and explained on
    :ref:`sphx_glr_auto_examples_language_plot_bigram_counts.py`; this is the same loop
    for a batch of names at once. Every name starts from a context of boundary
    symbols and ends when the model draws the boundary symbol (or at ``max_length``
    characters). All names are drawn in parallel, one character per model call.

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
