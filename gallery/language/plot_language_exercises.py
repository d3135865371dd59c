r"""
Exercises: language models on names
===================================

Five exercises on this section's pages, from a single line to a function you write
whole. Each leaves a function blank: its body is ``raise NotImplementedError``, and the
comment above it says what to write. Replace that line with your code and run the
cell below it, which checks your function on inputs you have not seen (its own count
tables, alphabets, queries and logits) and prints one line: ``passed``, ``not done
yet``, or what went wrong (the input, the value expected, the value your function
returned, the tolerance, and often the mistake that gives that value).

Stuck? ``ex.NAME.hint()`` prints a hint; on the site, the *Hint* and *Solution* boxes
below each check open when clicked. Try first: the check tells you more than the
solution does.
"""

# %%
# Setup
# -----
import torch

from pytorch_examples.exercises import language as ex

# %%
# 1. Add-k smoothing
# ------------------
# *Practises* :doc:`counts to probabilities <plot_bigram_counts>`. ``counts[i, j]`` is
# how often symbol ``j`` followed symbol ``i``. Return the table of next-symbol
# probabilities with a pseudo-count ``k`` added to every cell (the page used
# ``k = 1``): row ``i`` must be a distribution, so it sums to 1. The check gives a
# table with a row of zeros, a symbol never seen before another one.


def smoothed_probabilities(counts: torch.Tensor, k: float) -> torch.Tensor:
    # Return (counts + k), each row divided by its own sum.
    raise NotImplementedError


# %%
ex.smoothed_probabilities.check(smoothed_probabilities)

# %%
# .. exercise:: language.smoothed_probabilities

# %%
# 2. The loss of one word
# -----------------------
# *Practises* :doc:`the average negative log-likelihood <plot_bigram_counts>`. Given a
# table of next-symbol probabilities over the symbols of ``symbols`` (a string whose
# first symbol is the boundary ``.``), return the average negative log-likelihood of
# ``word`` read as ``.word.``: the first letter is predicted after ``.``, and ``.``
# after the last letter. A word of *n* letters makes *n* + 1 predictions.


def word_nll(table: torch.Tensor, word: str, symbols: str) -> torch.Tensor:
    # Return the mean of -log table[previous, next] over the n + 1 predictions.
    raise NotImplementedError


# %%
ex.word_nll.check(word_nll)

# %%
# .. exercise:: language.word_nll

# %%
# 3. The causal mask
# ------------------
# *Practises* :doc:`the causal mask <plot_self_attention>`. Return a ``(length,
# length)`` boolean tensor that is ``True`` where position ``i`` (the row) may attend
# to position ``j`` (the column): itself and the positions before it. This is the
# meaning ``scaled_dot_product_attention`` gives a boolean ``attn_mask``;
# ``nn.MultiheadAttention``'s is the opposite.


def causal_mask(length: int) -> torch.Tensor:
    # Return the boolean mask: True on and below the diagonal.
    raise NotImplementedError


# %%
ex.causal_mask.check(causal_mask)

# %%
# .. exercise:: language.causal_mask

# %%
# 4. One head of causal attention
# -------------------------------
# *Practises* :doc:`queries, keys and values <plot_self_attention>`. Given queries, keys
# and values of shape ``(..., length, d)`` (any leading dimensions, for batches and
# heads), return causal self-attention's output, written out with tensor operations:
# scores scaled by the square root of ``d``, the future masked, a softmax, and the
# mixture of values. The check compares it with
# :func:`~torch.nn.functional.scaled_dot_product_attention` with ``is_causal=True``
# (calling that function would pass, and teach nothing).


def causal_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    # Return softmax(mask(q @ k^T / sqrt(d))) @ v, for any leading dimensions.
    raise NotImplementedError


# %%
ex.causal_attention.check(causal_attention)

# %%
# .. exercise:: language.causal_attention

# %%
# 5. Sampling with a temperature
# ------------------------------
# *Practises* :doc:`sampling at a temperature <plot_recurrent_network>`. Draw
# ``n_samples`` indices, independently and with replacement, from the softmax of
# ``logits / temperature``, taking every random number from ``generator`` so that a
# seed repeats the draws and another seed changes them. The check draws many times at
# three temperatures and compares how often each index comes up with its probability.


def sample_with_temperature(
    logits: torch.Tensor, temperature: float, n_samples: int, generator: torch.Generator
) -> torch.Tensor:
    # Return an int64 tensor of n_samples indices drawn from softmax(logits / temperature).
    raise NotImplementedError


# %%
ex.sample_with_temperature.check(sample_with_temperature)

# %%
# .. exercise:: language.sample_with_temperature
