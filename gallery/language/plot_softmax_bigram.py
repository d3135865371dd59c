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
* that L2 regularization pulls the weights toward the uniform model, as smoothing
  pulls the counts, and why neither does better than the plain layer here;
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
from pytorch_examples.language import bigram_counts, sample_names
from pytorch_examples.plotting import plot_char_matrix, plot_loss_curve
from pytorch_examples.results import record_result

SEED = 42
LEARNING_RATE = 50.0
N_STEPS = 1000  # full-batch gradient descent steps
L2_STRENGTHS = (0.0, 0.01, 0.1, 1.0)
SMOOTHING_COUNTS = (0.0, 1.0, 10.0, 100.0)
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
# character. Softmax turns the logits into probabilities.
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
# the logits for previous character :math:`i` (column :math:`i` of the layer's
# weight). Its gradient is
#
# .. math:: \frac{\partial L}{\partial w_{ij}} =
#    \frac{N_i \operatorname{softmax}(w_i)_j - N_{ij}}{N} .
#
# Setting it to zero gives :math:`\operatorname{softmax}(w_i)_j = N_{ij}/N_i`: the
# minimum *is* the count model. For a pair never seen (:math:`N_{ij} = 0`) the
# gradient is positive at every finite weight, so each step lowers that weight further
# and no finite minimum exists. The formula also makes full-batch training cheap: a
# 27 x 27 table instead of 169,000 one-hot rows gives the same loss and the same
# gradient.
def loss_from_counts(logit_table: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of all pairs, computed from their counts."""
    log_p = logit_table.log_softmax(dim=1)
    # A pair that never occurs contributes nothing, even where log p = -inf.
    terms = torch.where(counts > 0, counts * log_p, 0.0)
    return -terms.sum() / counts.sum()


def check_count_formula() -> None:
    """Print the full-batch loss computed from the pairs and from the counts."""
    with torch.no_grad():
        direct = F.cross_entropy(layer(train_onehot), train_y).item()
        from_counts = loss_from_counts(layer.weight.T, train_counts).item()
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
    loss = loss_from_counts(layer.weight.T, train_counts)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
training_seconds = time.perf_counter() - started
check_count_formula()

count_model_loss = loss_from_counts(train_counts.float().log(), train_counts).item()
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
# a whole row. Subtracting each row's mean removes :math:`c_i`, and the two matrices
# should match. Where a pair never occurs, :math:`\log N_{ij} = -\infty` and gradient
# descent keeps pushing the weight down without end; we compare the seen pairs.
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
#
# L2 regularization and smoothing
# -------------------------------
# Adding :math:`\lambda \cdot \operatorname{mean}(W^2)` to the loss pulls every weight
# toward 0, that is, every row toward equal logits and the uniform distribution.
# Adding :math:`k` to every count pulls every row of probabilities toward uniform too.
# Both give up some training fit for less extreme probabilities; only the validation
# loss can tell whether that pays. Each layer below starts from zero weights (the
# uniform model) and takes ``N_STEPS`` steps; the one with strength 0 is the *plain
# layer*.
def train_with_l2(strength: float) -> torch.Tensor:
    """Minimize the count-form loss plus an L2 penalty, from zero weights."""
    table = torch.zeros(len(vocab), len(vocab), requires_grad=True)
    l2_optimizer = torch.optim.SGD([table], lr=LEARNING_RATE)
    for _ in range(N_STEPS):
        penalty = strength * table.pow(2).mean()
        loss = loss_from_counts(table, train_counts) + penalty
        l2_optimizer.zero_grad()
        loss.backward()
        l2_optimizer.step()
    return table.detach()


l2_tables = [train_with_l2(strength) for strength in L2_STRENGTHS]
l2_train = [loss_from_counts(table, train_counts).item() for table in l2_tables]
l2_val = [loss_from_counts(table, val_counts).item() for table in l2_tables]
smoothing_val = []
for k in SMOOTHING_COUNTS:
    smoothed = (train_counts + k) / (train_counts + k).sum(dim=1, keepdim=True)
    smoothing_val.append(loss_from_counts(smoothed.log(), val_counts).item())

for strength, train_value, val_value in zip(L2_STRENGTHS, l2_train, l2_val, strict=True):
    print(
        f"L2 strength {strength:<5g} training loss {train_value:.4f}  "
        f"validation loss {val_value:.4f}"
    )
for k, value in zip(SMOOTHING_COUNTS, smoothing_val, strict=True):
    print(f"add-{k:<4g} smoothing validation loss {value:.4f}")

fig, (ax_l2, ax_k) = plt.subplots(1, 2, figsize=(10, 3.5), sharey=True)
ax_l2.plot([str(s) for s in L2_STRENGTHS], l2_val, marker="o")
ax_l2.set(xlabel="L2 strength", ylabel="validation loss", title="regularized layer")
ax_k.plot([str(k) for k in SMOOTHING_COUNTS], smoothing_val, marker="o", color="C1")
ax_k.set(xlabel="pseudo-count k", title="smoothed counts (k = 0: infinite, not drawn)")
fig.tight_layout()
plt.show()

# %%
# What the output shows
# ---------------------
# Of the values tried, neither knob does better than the plain layer. Every L2
# strength raises its validation loss, the more the stronger it is; add-one smoothing
# ties it (within 0.001), and larger pseudo-counts cost more. So the validation names
# choose no regularization for the layer.
i_add_one = SMOOTHING_COUNTS.index(1.0)
print(f"add-one smoothing minus the plain layer: {smoothing_val[i_add_one] - l2_val[0]:+.5f}")
check(min(l2_val[1:]) > l2_val[0], "every L2 strength raises the plain layer's validation loss")
check(
    l2_val == sorted(l2_val) and smoothing_val[i_add_one:] == sorted(smoothing_val[i_add_one:]),
    "the stronger the L2 penalty, or the pseudo-count above 1, the higher the validation loss",
)
check(
    abs(smoothing_val[i_add_one] - l2_val[0]) < 0.001,
    "add-one smoothing ties the plain layer, to within 0.001",
)

# %%
# Smoothing matters to the count model because without it the 109 pairs never seen
# in training get probability zero; a few validation pairs are among them, and one is
# enough to make the loss infinite (``add-0``). Any pseudo-count makes it finite.
#
# The layer needs no such help, because stopping early from zero weights already
# regularizes. It starts at the uniform model, and the weight of a pair never seen
# falls only as fast as its small gradient allows, so after ``N_STEPS`` steps those
# pairs still get probabilities within a factor of 4 of add-one's (printed below),
# far from the zero of the unsmoothed counts. Trained on without end, their weights
# would fall without limit, the layer would approach the unsmoothed count model, and
# its validation loss would grow toward infinity. Beyond those pairs there is little
# to regularize: 729 weights are fitted to 168,951 pairs, and the plain layer scores
# the validation names as well as the training names, so pulling the weights further
# toward zero only costs fit.
unseen = train_counts == 0
print(f"pairs never seen in training: {unseen.sum().item()} of {unseen.numel()}")
print(f"validation pairs among them: {val_counts[unseen].sum().item()} of {len(val_y)}")
check(
    math.isinf(smoothing_val[0]) and all(math.isfinite(v) for v in smoothing_val[1:]),
    "without smoothing the count model's validation loss is infinite; with any pseudo-count "
    "it is finite",
)
plain = l2_tables[0].softmax(dim=1)
add_one = (train_counts + 1) / (train_counts + 1).sum(dim=1, keepdim=True)
ratio = plain[unseen] / add_one[unseen]
print(
    "pairs never seen, plain layer's probability / add-one's: "
    f"{ratio.min():.2f} to {ratio.max():.2f} (geometric mean {ratio.log().mean().exp():.2f})"
)
check(
    ratio.min() > 1 / 4 and ratio.max() < 4,
    "the plain layer gives every pair never seen within a factor of 4 of add-one's probability",
)
print(f"plain layer, validation minus training loss: {l2_val[0] - l2_train[0]:+.4f}")
check(
    abs(l2_val[0] - l2_train[0]) < 0.01,
    "the plain layer's training and validation losses differ by less than 0.01",
)


# %%
# Sampling from the layer
# -----------------------
# The trained layer samples names just as the count table did. Drawn with the same
# seed and the same sampler (the library's ``sample_names``, which draws all names at
# once, so its names differ from the first page's one-at-a-time loop), the layer and
# the add-one count model give the same names, letter for letter: at every draw that
# went into these names, the same random numbers, applied to the two models'
# probabilities, picked the same character.
def layer_model(contexts: torch.Tensor) -> torch.Tensor:
    return layer(F.one_hot(contexts[:, 0], len(vocab)).float())


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
# The validation names made this page's one choice, no regularization. The model
# scored here is ``layer``, the unregularized layer trained in the *Training* section
# (from ``nn.Linear``'s random start; the sweep above trained its own copies from
# zero). The test names are scored once, at the end, and the result is recorded for
# the comparison of all language models at the end of this section.
test_x, test_y = context_pairs(splits.test, vocab, context_length=1)
with torch.no_grad():
    layer_val_loss = loss_from_counts(layer.weight.T, val_counts).item()
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
