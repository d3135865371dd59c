r"""
A bigram language model from counts
===================================

The simplest model of names predicts each character from the one before it, using
how often that pair occurs in the training names. You will learn:

* how names become (previous character, next character) pairs, with ``.`` marking
  the start and the end of a name;
* how counts become probabilities, and why add-one smoothing is needed;
* how to sample new names from the model;
* how the average negative log-likelihood scores a language model, and why it is
  measured on names the model never saw.

The next two pages learn the same table with gradient descent, then replace it with a
neural network.
"""

# %%
# Setup
# -----
# The names are downloaded on first use (or read from ``$PYTORCH_EXAMPLES_DATA``).
# Some names occur more than once; the split keeps one copy of each and cuts the
# distinct names 80/10/10 with a fixed seed, so no name is in two sets.
import matplotlib.pyplot as plt
import torch

from pytorch_examples.language import bigram_counts, evaluate_loss, sample_names, uniform_loss
from pytorch_examples.names import CharVocabulary, context_pairs, load_names, split_names
from pytorch_examples.plotting import plot_char_matrix

SEED = 42
SMOOTHING = 1.0  # pseudo-count added to every pair
N_SAMPLES = 15

names = load_names()
splits = split_names(names, seed=SEED)
vocab = CharVocabulary()
n_distinct = len(splits.train) + len(splits.val) + len(splits.test)
print(
    f"{len(names)} names, {n_distinct} distinct: {len(splits.train)} train, "
    f"{len(splits.val)} val, {len(splits.test)} test"
)
print("first training names:", ", ".join(splits.train[:8]))

# %%
# Pairs and counts
# ----------------
# With a context of one character, ``"ava"`` gives the pairs ``.a``, ``av``, ``va``
# and ``a.``. Counting all pairs of the training names fills a 27 x 27 table.
train_x, train_y = context_pairs(splits.train, vocab, context_length=1)
val_x, val_y = context_pairs(splits.val, vocab, context_length=1)
counts = bigram_counts(train_x, train_y, len(vocab))
print(f"{len(train_y)} training pairs; the most common: ", end="")
top = counts.flatten().topk(5)
print(
    ", ".join(
        f"{vocab.decode([i // len(vocab), i % len(vocab)])} ({c})"
        for c, i in zip(top.values.tolist(), top.indices.tolist(), strict=True)
    )
)

# %%
# Row ``.`` holds how names start, column ``.`` how they end: many names end in
# ``a`` or ``n``. The ``.`` to ``.`` cell is zero, since no name is empty.
fig, ax = plt.subplots(figsize=(10, 9))
plot_char_matrix(ax, counts, vocab.symbols, colorbar_label="count", annotate=True)
ax.set_title("bigram counts in the training names")
plt.show()

# %%
# From counts to probabilities
# ----------------------------
# Each row, divided by its sum, is the distribution of the next character. A pair
# that never occurs in training would get probability zero, and a single such pair
# in a new name would make its likelihood zero and its loss infinite. Adding a
# pseudo-count to every cell (add-one, or Laplace, smoothing) keeps every
# probability positive.
probabilities = (counts + SMOOTHING) / (counts + SMOOTHING).sum(dim=1, keepdim=True)
row_sum_error = (probabilities.sum(dim=1) - 1).abs().max().item()
print(f"every row sums to 1 (largest float32 rounding error {row_sum_error:.1e})")
print(f"unseen pairs in training: {(counts == 0).sum().item()} of {counts.numel()}")


def bigram_model(contexts: torch.Tensor) -> torch.Tensor:
    """Log-probabilities of the next character given the previous one."""
    return probabilities[contexts[:, 0]].log()


# %%
# Sampling names
# --------------
# Start from ``.``, draw the next character from its row, move to that character's
# row, and stop at the next ``.``. The results sound name-like but forget everything
# except the last letter.
generator = torch.Generator().manual_seed(SEED)
print(", ".join(sample_names(bigram_model, vocab, N_SAMPLES, 1, generator=generator)))

# %%
# How good is it?
# ---------------
# The likelihood of the data is the product of the model's probabilities of every
# next character; its negative logarithm, divided by the number of characters, is
# the average negative log-likelihood (the cross-entropy loss of the next pages). A
# model that knows nothing gives every character 1/27, a loss of ln 27. The
# validation loss, on names the counts never saw, is what tells how well the model
# generalizes.
train_loss = evaluate_loss(bigram_model, train_x, train_y)
val_loss = evaluate_loss(bigram_model, val_x, val_y)
print(f"uniform model:     {uniform_loss(len(vocab)):.4f}")
print(f"bigram, train:     {train_loss:.4f}")
print(f"bigram, validation: {val_loss:.4f}")
