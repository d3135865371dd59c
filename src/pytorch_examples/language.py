"""Tools the character-level language-model pages share: counts, sampling, scoring, packing.

A model here is anything that maps a batch of contexts, shape ``(batch,
context_length)`` of character indices, to logits over the next character, shape
``(batch, vocab_size)``: an :class:`torch.nn.Module` or a plain function.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

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


def cross_entropy_from_counts(logit_table: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of all the pairs that ``counts`` counts, from the counts alone.

    Taught on :ref:`sphx_glr_auto_examples_language_plot_softmax_bigram.py`, which
    derives it: with ``N[i, j]`` pairs of ``i`` followed by ``j``, the mean of
    ``-log softmax(logit_table[i])[j]`` over all pairs is
    ``-sum(N * log_softmax(logit_table)) / sum(N)``.

    Parameters
    ----------
    logit_table : torch.Tensor
        Logits for the next character after each character, ``(vocab_size,
        vocab_size)``; row ``i`` follows character ``i``.
    counts : torch.Tensor
        Bigram counts of the same shape, as :func:`bigram_counts` returns them.

    Returns
    -------
    torch.Tensor
        A scalar, differentiable with respect to ``logit_table``. A pair that never
        occurs contributes nothing, even where its log-probability is ``-inf``.
    """
    if logit_table.shape != counts.shape:
        raise ValueError(
            f"logit_table and counts must have one shape, got {tuple(logit_table.shape)} "
            f"and {tuple(counts.shape)}"
        )
    log_p = logit_table.log_softmax(dim=1)
    terms = torch.where(counts > 0, counts * log_p, 0.0)
    return -terms.sum() / counts.sum()


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
    """Cross-entropy of a model that gives every symbol the same probability: ln V.

    Taught on :doc:`/auto_examples/language/plot_bigram_counts`.
    """
    return math.log(check_positive_int("vocab_size", vocab_size))


IGNORE_INDEX = -100
"""The target of a padded position; :func:`torch.nn.functional.cross_entropy` skips it."""


def pack_names(
    names: list[str], order: Iterable[int], vocab: CharVocabulary, row_length: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Pack whole names one after another into rows of ``row_length`` positions.

    Taught on :ref:`sphx_glr_auto_examples_language_plot_packed_names.py`. Each name
    ``n`` takes ``len(n) + 1`` positions: the input ``.n`` and the target ``n.``. A row
    holds as many whole names as fit; only its end is padded.

    Parameters
    ----------
    names : list of str
        The names, of letters a-z.
    order : iterable of int
        Indices into ``names``: the order in which they are packed, each at most once
        (:func:`same_name_causal_mask` tells names apart by their index).
    vocab : CharVocabulary
        Encodes the characters.
    row_length : int
        Positions per row; a name longer than ``row_length - 1`` letters does not fit.

    Returns
    -------
    tokens, targets, positions, name_ids : torch.Tensor
        Each ``(rows, row_length)``, ``int64``: the input characters (the boundary
        symbol at padding), the next characters (:data:`IGNORE_INDEX` at padding), each
        position's place within its own name (0 at padding) and the index of its name
        in ``names`` (-1 at padding).

    Raises
    ------
    ValueError
        If a name does not fit in a row, or ``order`` repeats an index: two copies of
        one name would share an index, and attention could join them.
    """
    row_length = check_positive_int("row_length", row_length)
    boundary = vocab.encode(".")[0]
    rows: list[tuple[list[int], ...]] = []
    row: tuple[list[int], ...] = ([], [], [], [])
    packed: set[int] = set()
    for index in map(int, order):  # plain ints: a tensor's elements hash by identity
        if index in packed:
            raise ValueError(f"order repeats index {index}: each name is packed at most once")
        packed.add(index)
        letters = vocab.encode(names[index])
        if len(letters) + 1 > row_length:
            raise ValueError(f"name {names[index]!r} does not fit in a row of {row_length}")
        if len(row[0]) + len(letters) + 1 > row_length:
            rows.append(row)
            row = ([], [], [], [])
        row[0].extend([boundary, *letters])
        row[1].extend([*letters, boundary])
        row[2].extend(range(len(letters) + 1))
        row[3].extend([index] * (len(letters) + 1))
    rows.append(row)
    fill = (boundary, IGNORE_INDEX, 0, -1)
    return tuple(  # type: ignore[return-value]
        torch.tensor([r[part] + [fill[part]] * (row_length - len(r[part])) for r in rows])
        for part in range(4)
    )


def same_name_causal_mask(name_ids: torch.Tensor) -> torch.Tensor:
    """Which positions each position may attend to in rows of packed names.

    Taught on :ref:`sphx_glr_auto_examples_language_plot_packed_names.py`. Position
    ``i`` may attend to ``j`` if ``j <= i`` and both belong to the same name (padding,
    name id -1, counts as one more name, so that every position sees at least itself).

    Parameters
    ----------
    name_ids : torch.Tensor
        The name index of each position, shape ``(rows, length)``.

    Returns
    -------
    torch.Tensor
        ``bool``, shape ``(rows, 1, length, length)``: one mask for all heads, as
        :func:`torch.nn.functional.scaled_dot_product_attention` takes it.
    """
    length = name_ids.shape[-1]
    causal = torch.ones(length, length, dtype=torch.bool, device=name_ids.device).tril()
    same_name = name_ids[:, :, None] == name_ids[:, None, :]
    return (causal & same_name)[:, None]


def _logits(output: torch.Tensor | tuple[torch.Tensor, ...]) -> torch.Tensor:
    """Return the logits of a model's output; a recurrent model also returns its state."""
    return output[0] if isinstance(output, tuple) else output


@torch.no_grad()
def prediction_losses(
    model: Callable[..., torch.Tensor | tuple[torch.Tensor, ...]],
    inputs: torch.Tensor | tuple[torch.Tensor, ...],
    targets: torch.Tensor,
    *,
    batch_size: int = 512,
) -> torch.Tensor:
    """Score every predicted character: its loss, in evaluation mode, padding left out.

    The MLP (:ref:`sphx_glr_auto_examples_language_plot_mlp_language_model.py`), the
    recurrent network (:ref:`sphx_glr_auto_examples_language_plot_recurrent_network.py`)
    and the GPT (:ref:`sphx_glr_auto_examples_language_plot_transformer.py`) score their
    validation predictions with it, and record the losses it returns so that
    :ref:`sphx_glr_auto_examples_language_plot_language_models_compared.py` can pair
    them; their mean is the page's validation loss.

    Parameters
    ----------
    model : callable
        Called as ``model(*inputs)`` on a batch of rows; returns logits of shape
        ``targets.shape + (vocab_size,)``, or a tuple that starts with them (a
        recurrent network also returns its state).
    inputs : torch.Tensor or tuple of torch.Tensor
        What the model reads, one row per sequence (a tuple: several tensors of rows).
    targets : torch.Tensor
        The next character at every position; :data:`IGNORE_INDEX` where nothing is
        predicted.
    batch_size : int
        Rows scored at once.

    Returns
    -------
    torch.Tensor
        ``float32``, one loss in nats per target that is not :data:`IGNORE_INDEX`, row
        by row (for rows of whole names: name by name, character by character).
    """
    batch_size = check_positive_int("batch_size", batch_size)
    inputs = inputs if isinstance(inputs, tuple) else (inputs,)
    if any(len(part) != len(targets) for part in inputs):
        raise ValueError("every input needs one row per row of targets")
    losses = []
    with eval_mode(model):
        for start in range(0, len(targets), batch_size):
            batch = [part[start : start + batch_size] for part in inputs]
            batch_targets = targets[start : start + batch_size]
            logits = _logits(model(*batch))
            predicted = batch_targets != IGNORE_INDEX
            losses.append(
                F.cross_entropy(logits[predicted], batch_targets[predicted], reduction="none")
            )
    return torch.cat(losses)


@torch.no_grad()
def draw_names(
    model: Callable[[torch.Tensor], torch.Tensor | tuple[torch.Tensor, ...]],
    vocab: CharVocabulary,
    n_names: int,
    *,
    generator: torch.Generator,
    temperature: float = 1.0,
    prefix: str = "",
    max_length: int = 20,
) -> list[str]:
    """Draw names from a model that reads the whole name so far, at a temperature.

    Taught on :ref:`sphx_glr_auto_examples_language_plot_recurrent_network.py`, which
    introduces it and the temperature; also used by
    :ref:`sphx_glr_auto_examples_language_plot_transformer.py`, which counts how the
    temperature changes the share of training names drawn and starts names at a prefix.
    Each name starts as the boundary symbol followed by ``prefix``; at every step the
    model reads all the characters so far, its logits for the next character are
    divided by ``temperature`` and one character is drawn from their softmax, until the
    boundary symbol is drawn or the name has ``max_length`` letters.

    Parameters
    ----------
    model : callable
        Maps tokens ``(n_names, length)`` to logits at every position ``(n_names,
        length, vocab_size)``, or to a tuple that starts with them; run in evaluation
        mode.
    vocab : CharVocabulary
        Encodes the prefix and decodes the names.
    n_names : int
        How many names to draw, all at once.
    generator : torch.Generator
        Source of randomness; the same seed gives the same names.
    temperature : float
        Positive: below 1 sharpens the distribution, above 1 flattens it.
    prefix : str
        Letters every name starts with.
    max_length : int
        Longest name returned, prefix included.

    Returns
    -------
    list of str
        The names, without the boundary symbol.

    Raises
    ------
    ValueError
        If ``temperature`` is not a positive finite number, ``prefix`` holds a
        character other than a-z or is longer than ``max_length``.
    """
    n_names = check_positive_int("n_names", n_names)
    max_length = check_positive_int("max_length", max_length)
    if not (temperature > 0 and math.isfinite(temperature)):
        raise ValueError(f"temperature must be a positive number, got {temperature}")
    if "." in prefix:
        raise ValueError(f"prefix must be letters a-z, got {prefix!r}")
    if len(prefix) > max_length:
        raise ValueError(f"prefix {prefix!r} is longer than max_length {max_length}")
    boundary = vocab.encode(".")[0]
    tokens = torch.tensor([[boundary, *vocab.encode(prefix)]] * n_names)
    finished = torch.zeros(n_names, dtype=torch.bool)
    with eval_mode(model):
        while tokens.shape[1] <= max_length and not finished.all():
            logits = _logits(model(tokens))[:, -1]
            drawn = torch.multinomial(
                F.softmax(logits / temperature, dim=-1), 1, generator=generator
            )
            drawn[finished] = boundary
            finished |= drawn[:, 0] == boundary
            tokens = torch.cat([tokens, drawn], dim=1)
    return [vocab.decode(row[1:]).split(".")[0] for row in tokens]
