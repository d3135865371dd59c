r"""
A bigram model as one linear layer with softmax
===============================================

The count table of :ref:`sphx_glr_auto_examples_language_plot_bigram_counts.py` can
also be *learned*. Feed the previous character as a one-hot vector into a single
linear layer of 27 x 27 weights, read the outputs as logits, and train the weights by
gradient descent on the cross-entropy. You will learn:

* that the cross-entropy is the mean of :math:`-\log p` of the correct next
  character, computed two ways that agree;
* why the trained weights are the logarithms of the counts, up to one constant per
  row;
* how to sample names from a trained network.
"""

# %%
# Setup
# -----
import math
import time

import matplotlib.pyplot as plt
import torch
from torch import nn
from torch.nn import functional as F

from pytorch_examples.claims import check
from pytorch_examples.data.names import CharVocabulary, context_pairs, load_names, split_names
from pytorch_examples.language import bigram_counts, cross_entropy_from_counts, sample_names
from pytorch_examples.plotting import plot_char_matrix, plot_loss_curve
from pytorch_examples.results import record_result

SEED = 42
LEARNING_RATE = 50.0
N_STEPS = 1000  # full-batch gradient descent steps
N_SAMPLES = 15

torch.manual_seed(SEED)
vocab = CharVocabulary()
splits = split_names(load_names(), seed=SEED)
train_x, train_y = context_pairs(splits.train, vocab, context_length=1)
val_x, val_y = context_pairs(splits.val, vocab, context_length=1)
train_counts = bigram_counts(train_x, train_y, len(vocab))
val_counts = bigram_counts(val_x, val_y, len(vocab))

# %%
# One-hot input, one linear layer
# -------------------------------
# A one-hot vector has a 1 at the character's index and 0 elsewhere, so multiplying
# it by the weight matrix just selects one column of weights: the logits of the next
# character. Softmax turns the logits into probabilities. The layer starts from the
# small random weights that :class:`torch.nn.Linear` draws, so its first loss, below,
# is close to that of the uniform guess but not equal to it.
layer = nn.Linear(len(vocab), len(vocab), bias=False)
train_onehot = F.one_hot(train_x[:, 0], len(vocab)).float()
print(
    f"{len(train_y)} training pairs: input {tuple(train_onehot.shape)}, "
    f"weights {tuple(layer.weight.shape)}"
)

# %%
# The loss, two ways
# ------------------
# By hand: softmax, pick the probability of the correct next character of every pair
# by indexing, and average :math:`-\log p`. :func:`torch.nn.functional.cross_entropy`
# takes the logits and computes the same number, in one stable step.
logits = layer(train_onehot)
probabilities = logits.softmax(dim=1)
naive_loss = -probabilities[torch.arange(len(train_y)), train_y].log().mean()
library_loss = F.cross_entropy(logits, train_y)
print(f"by hand: {naive_loss.item():.6f}   F.cross_entropy: {library_loss.item():.6f}")
print(f"uniform guess ln {len(vocab)} = {math.log(len(vocab)):.6f}")
check(
    abs(naive_loss - library_loss) < 1e-5,
    "by hand and F.cross_entropy give the same loss, to within 1e-5",
)


# %%
# The loss depends on the data only through the counts
# ----------------------------------------------------
# There are only 27 distinct inputs. Grouping the pairs by previous character
# :math:`i` and next character :math:`j`, the full-batch loss is
#
# .. math:: L(W) = -\frac{1}{N}\sum_{i,j} N_{ij} \log \operatorname{softmax}(w_i)_j ,
#
# where :math:`N_{ij}` is the bigram count, :math:`N_i` the row's total and :math:`w_i`
# the logits for previous character :math:`i`: row :math:`i` of the table
# ``layer.weight.T``, which is column :math:`i` of the layer's weight, because
# :class:`~torch.nn.Linear` stores its weight as (outputs, inputs). Its gradient is
#
# .. math:: \frac{\partial L}{\partial w_{ij}} =
#    \frac{N_i \operatorname{softmax}(w_i)_j - N_{ij}}{N} .
#
# Setting it to zero gives :math:`\operatorname{softmax}(w_i)_j = N_{ij}/N_i`: the
# minimum *is* the count model. For a pair never seen (:math:`N_{ij} = 0`) the
# gradient is positive at every finite weight, so each step lowers that weight further
# and no finite minimum exists. The formula also makes full-batch training cheap: a
# 27 x 27 table instead of 169,000 one-hot rows gives the same loss and the same
# gradient. The library's :func:`~pytorch_examples.language.cross_entropy_from_counts`
# computes it, in three lines, and the next page uses it too.
def check_count_formula() -> None:
    """Print the full-batch loss computed from the pairs and from the counts."""
    with torch.no_grad():
        direct = F.cross_entropy(layer(train_onehot), train_y).item()
        from_counts = cross_entropy_from_counts(layer.weight.T, train_counts).item()
    print(f"loss from the pairs {direct:.6f}, from the counts {from_counts:.6f}")
    check(abs(direct - from_counts) < 1e-5, "the two losses agree to within 1e-5")


check_count_formula()

# %%
# Training
# --------
# Full-batch gradient descent, each step on the loss of all training pairs. The
# learning rate is large because the gradient of one column is an average over
# *all* pairs, most of which do not involve it.
# The training loss falls toward the count model's, a lower limit it approaches but
# never reaches.
optimizer = torch.optim.SGD(layer.parameters(), lr=LEARNING_RATE)
losses = []
started = time.perf_counter()
for _ in range(N_STEPS):
    loss = cross_entropy_from_counts(layer.weight.T, train_counts)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
training_seconds = time.perf_counter() - started
check_count_formula()

count_model_loss = cross_entropy_from_counts(train_counts.float().log(), train_counts).item()
print(
    f"after {N_STEPS} steps: {losses[-1]:.4f}; "
    f"the count model's training loss: {count_model_loss:.4f}"
)
check(
    losses[-1] - count_model_loss < 0.01,
    f"after {N_STEPS} steps the layer's training loss is within 0.01 of the count model's",
)

fig, ax = plt.subplots(figsize=(7, 3.5))
plot_loss_curve(ax, losses, log_scale=False, label="linear layer")
ax.axhline(count_model_loss, color="C3", ls="--", label="count model (no smoothing)")
ax.set(xscale="log", ylim=(2.4, 3.4), title="training loss")
ax.legend()
fig.tight_layout()
plt.show()

# %%
# Weights versus log-counts
# -------------------------
# At the minimum :math:`w_{ij} = \log N_{ij} + c_i`: softmax ignores a constant added to
# a whole row :math:`w_i` (a row of ``layer.weight.T``). Where a pair never occurs,
# :math:`\log N_{ij} = -\infty` and gradient descent keeps pushing the weight down
# without end, so we compare the seen pairs only: from each row of both matrices we
# subtract its mean over the row's seen pairs, which removes :math:`c_i`, and the two
# should match.
learned = layer.weight.T.detach()
log_counts = train_counts.float().log()
seen = train_counts > 0
learned_centred = learned - (learned * seen).sum(1, keepdim=True) / seen.sum(1, keepdim=True)
log_centred = log_counts.where(seen, 0.0)
log_centred = log_centred - log_centred.sum(1, keepdim=True) / seen.sum(1, keepdim=True)
gap = (learned_centred - log_centred)[seen].abs()
print(f"seen pairs: median gap {gap.median():.3f}, largest gap {gap.max():.3f}")
gap_by_count = []
for n in (1, 2, 10, 100):
    gap_by_count.append((learned_centred - log_centred)[train_counts == n].abs().mean().item())
    print(f"  pairs seen {n:>3} times: mean gap {gap_by_count[-1]:.3f}")
check(
    gap_by_count == sorted(gap_by_count, reverse=True),
    "of pairs seen 1, 2, 10 and 100 times, the more often seen, the smaller the mean gap",
)

fig, axes = plt.subplots(1, 2, figsize=(14, 6))
panels = (
    (learned_centred, "learned weights (seen pairs)", "weight - row mean"),
    (log_centred, "log-counts (seen pairs)", "log count - row mean"),
)
# One colour scale for both panels, so that equal colours mean equal values.
shared_range = (
    min(m[seen].min().item() for m, _, _ in panels),
    max(m[seen].max().item() for m, _, _ in panels),
)
for ax, (matrix, title, colorbar_label) in zip(axes, panels, strict=True):
    plot_char_matrix(
        ax,
        matrix.where(seen, float("nan")),
        vocab.symbols,
        cmap="viridis",
        colorbar_label=colorbar_label,
        value_range=shared_range,
    )
    ax.set_title(title)
fig.tight_layout()
plt.show()


# %%
# The gaps are largest for pairs seen only a few times: the gradient that pulls such
# a weight to its target is proportional to the pair's share of all pairs, so rare
# pairs converge last (and unseen ones never).


# %%
# Sampling from the layer
# -----------------------
# The trained layer samples names just as the count table did. Drawn with the same
# seed and the same sampler (the library's ``sample_names``, which draws all names at
# once, so its names differ from the first page's one-at-a-time loop), the layer and
# the add-one count model give the same names, letter for letter: at every draw that
# went into these names, the same random numbers, applied to the two models'
# probabilities, picked the same character. The count model here is the add-one
# model because that is the one the first page samples from: without smoothing, the
# table gives pairs never seen in training zero probability, which the layer does not.
def layer_model(contexts: torch.Tensor) -> torch.Tensor:
    return layer(F.one_hot(contexts[:, 0], len(vocab)).float())


add_one = (train_counts + 1) / (train_counts + 1).sum(dim=1, keepdim=True)


def count_model(contexts: torch.Tensor) -> torch.Tensor:
    return add_one[contexts[:, 0]].log()


layer_names, count_names = (
    sample_names(model, vocab, N_SAMPLES, 1, generator=torch.Generator().manual_seed(SEED))
    for model in (layer_model, count_model)
)
print(", ".join(layer_names))
check(
    layer_names == count_names,
    "with the same seed, the layer and the add-one count model draw the same names",
)

# %%
# The test names, once
# --------------------
# The model scored here is ``layer``, the unregularized layer trained in the *Training*
# section. Whether regularization would help is a question for the validation names,
# which :doc:`plot_bigram_regularization` asks of them, with the layer retrained from
# zero weights; the test names play no part there. They are scored once, here, and the
# result is recorded for the comparison of all language models at the end of this
# section.
test_x, test_y = context_pairs(splits.test, vocab, context_length=1)
with torch.no_grad():
    layer_val_loss = cross_entropy_from_counts(layer.weight.T, val_counts).item()
    test_logits = layer(F.one_hot(test_x[:, 0], len(vocab)).float())
    layer_test_loss = F.cross_entropy(test_logits, test_y).item()
print(f"the trained layer: validation loss {layer_val_loss:.4f}, test loss {layer_test_loss:.4f}")
print(f"training time: {training_seconds:.1f} s for {N_STEPS} full-batch steps")
record_result(
    "plot_softmax_bigram",
    val_loss=layer_val_loss,
    test_loss=layer_test_loss,
    parameters=layer.weight.numel(),
    training_seconds=training_seconds,
)
