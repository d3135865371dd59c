r"""
A bigram language model from counts
===================================

The simplest model of names predicts each character from the one before it, using
how often that pair occurs in the training names. You will learn:

* how names become (previous character, next character) pairs, with ``.`` marking
  the start and the end of a name;
* how counts become probabilities, and why add-one smoothing is needed;
* how to sample new names from the model, one character at a time;
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
import math
import time

import matplotlib.pyplot as plt
import torch

from pytorch_examples.claims import check
from pytorch_examples.data.names import CharVocabulary, context_pairs, load_names, split_names
from pytorch_examples.language import bigram_counts
from pytorch_examples.plotting import plot_char_matrix
from pytorch_examples.results import record_result

SEED = 42
SMOOTHING = 1.0  # pseudo-count added to every pair
N_SAMPLES = 15

names = load_names()
splits = split_names(names, seed=SEED)
vocab = CharVocabulary()
BOUNDARY = vocab.encode(".")[0]
n_distinct = len(splits.train) + len(splits.val) + len(splits.test)
print(f"{len(names)} names, {n_distinct} distinct:")
for split_name, split in (("train", splits.train), ("val", splits.val), ("test", splits.test)):
    print(f"  {split_name:<5} {len(split):>5} ({len(split) / n_distinct:.0%})")
print("first training names:", ", ".join(splits.train[:8]))

# %%
# Pairs and counts
# ----------------
# With a context of one character, ``"ava"`` gives the pairs ``.a``, ``av``, ``va``
# and ``a.``. Counting all pairs of the training names fills a table with one row per
# previous character and one column per next character: 27 x 27.
train_x, train_y = context_pairs(splits.train, vocab, context_length=1)
val_x, val_y = context_pairs(splits.val, vocab, context_length=1)
started = time.perf_counter()
counts = bigram_counts(train_x, train_y, len(vocab))
counting_seconds = time.perf_counter() - started
print(f"{len(train_y)} training pairs counted in a table of shape {tuple(counts.shape)}")
top = counts.flatten().topk(5)
top_pairs = [vocab.decode([i // len(vocab), i % len(vocab)]) for i in top.indices.tolist()]
print(
    "the most common pairs:",
    ", ".join(f"{pair} ({c})" for pair, c in zip(top_pairs, top.values.tolist(), strict=True)),
)

# %%
# Row ``.`` holds how names start, column ``.`` how they end, and many names end in
# ``a`` or ``n``. The ``.`` to ``.`` cell is zero, since no name is empty.
a, n = vocab.encode("an")
ends_in_a_or_n = (counts[a, BOUNDARY] + counts[n, BOUNDARY]).item()
print(f"training names ending in a or n: {ends_in_a_or_n / len(splits.train):.0%}")
check(counts[BOUNDARY, BOUNDARY] == 0, "the . to . cell is zero: no name is empty")

fig, ax = plt.subplots(figsize=(10, 9))
plot_char_matrix(ax, counts, vocab.symbols, colorbar_label="count", annotate=True)
ax.set_title("bigram counts in the training names")
plt.show()

# %%
# From counts to probabilities
# ----------------------------
# Each row, divided by its sum, is the distribution of the next character. A pair
# that never occurs in training gets probability zero, and a single such pair in a new
# name makes that name's likelihood zero and the loss infinite. The validation names
# do contain such pairs. Adding a pseudo-count to every cell (add-one, or Laplace,
# smoothing) keeps every probability positive.
unsmoothed = counts / counts.sum(dim=1, keepdim=True)
probabilities = (counts + SMOOTHING) / (counts + SMOOTHING).sum(dim=1, keepdim=True)
row_sum_error = (probabilities.sum(dim=1) - 1).abs().max().item()
print(f"every row sums to 1 (largest float32 rounding error {row_sum_error:.1e})")
print(f"pairs never seen in training: {(counts == 0).sum().item()} of {counts.numel()}")
unseen_in_val = (counts[val_x[:, 0], val_y] == 0).sum().item()
print(f"validation pairs never seen in training: {unseen_in_val}")


def average_nll(table: torch.Tensor, contexts: torch.Tensor, targets: torch.Tensor) -> float:
    """Mean of -log p(next character | previous character) over all pairs."""
    return -table[contexts[:, 0], targets].log().mean().item()


unsmoothed_val_loss = average_nll(unsmoothed, val_x, val_y)
print(f"validation loss without smoothing: {unsmoothed_val_loss}")
check(math.isinf(unsmoothed_val_loss), "without smoothing, the validation loss is infinite")


# %%
# Sampling names
# --------------
# Start after ``.``, draw the next character from the row of the last one, and stop
# when the draw is ``.``. Every row gives ``.`` a positive probability, so the loop
# is bound to stop. Each draw sees only the last letter, so the names have plausible
# letter pairs but no memory beyond them.
def sample_name(table: torch.Tensor, generator: torch.Generator) -> str:
    """Draw one name from a table of next-character probabilities."""
    name = ""
    current = BOUNDARY
    while True:
        current = torch.multinomial(table[current], 1, generator=generator).item()
        if current == BOUNDARY:
            return name
        name += vocab.symbols[current]


generator = torch.Generator().manual_seed(SEED)
samples = [sample_name(probabilities, generator) for _ in range(N_SAMPLES)]
print(", ".join(samples))
print(f"samples that are names in the data set: {len(set(samples) & set(names))} of {N_SAMPLES}")

# %%
# How good is it?
# ---------------
# The likelihood of the data is the product of the model's probabilities of every
# next character; its negative logarithm, divided by the number of predictions (every
# character and the end of every name), is
# the average negative log-likelihood (the cross-entropy loss of the next pages). A
# model that knows nothing gives every character 1/27, a loss of ln 27.
uniform_loss = math.log(len(vocab))
train_loss = average_nll(probabilities, train_x, train_y)
val_loss = average_nll(probabilities, val_x, val_y)
print(f"uniform model, ln {len(vocab)}: {uniform_loss:.4f}")
print(f"bigram, train:      {train_loss:.4f}")
print(f"bigram, validation: {val_loss:.4f}")
check(val_loss < uniform_loss, "the bigram model beats the uniform model on the validation names")
check(
    abs(val_loss - train_loss) < 0.01,
    "the validation and training losses differ by less than 0.01",
)

# %%
# The validation loss, on names the counts never saw, is what tells how well the
# model generalizes. Here it is as low as the training loss: 729 probabilities
# estimated from 168,951 pairs leave the model nothing to memorize about individual
# names. A model with many more parameters can fit its training names better than
# new ones, and only the validation loss would show it.

# %%
# The test names, once
# --------------------
# The validation names could have chosen the pseudo-count
# (:doc:`plot_bigram_regularization` compares several); the test names are scored
# once, at the end, with the model as it is. The counting is this model's whole
# training, and its table of probabilities its parameters. Both are recorded for the
# comparison of all language models at the end of this section.
test_x, test_y = context_pairs(splits.test, vocab, context_length=1)
test_loss = average_nll(probabilities, test_x, test_y)
print(f"bigram, test: {test_loss:.4f}")
print(f"counting took {counting_seconds * 1e3:.1f} ms")
record_result(
    "plot_bigram_counts",
    val_loss=val_loss,
    test_loss=test_loss,
    parameters=probabilities.numel(),
    training_seconds=counting_seconds,
)
