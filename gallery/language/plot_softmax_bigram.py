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
* that L2 regularization of the weights does what smoothing does to the counts;
* how to sample names from a trained network.
"""

# %%
# Setup
# -----
import matplotlib.pyplot as plt
import torch
from torch import nn
from torch.nn import functional as F

from pytorch_examples.language import bigram_counts, sample_names, uniform_loss
from pytorch_examples.names import CharVocabulary, context_pairs, load_names, split_names
from pytorch_examples.plotting import plot_char_matrix, plot_loss_curve

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
print(f"input {tuple(train_onehot.shape)}, weights {tuple(layer.weight.shape)}")

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
print(f"uniform guess ln 27 = {uniform_loss(len(vocab)):.6f}")


# %%
# The loss depends on the data only through the counts
# ----------------------------------------------------
# There are only 27 distinct inputs. Grouping the pairs by previous character
# :math:`i` and next character :math:`j`, the full-batch loss is
#
# .. math:: L(W) = -\frac{1}{N}\sum_{i,j} N_{ij} \log \operatorname{softmax}(w_i)_j ,
#
# where :math:`N_{ij}` is the bigram count and :math:`w_i` the logits for previous
# character :math:`i` (column :math:`i` of the layer's weight). Setting the gradient
# to zero gives :math:`\operatorname{softmax}(w_i)_j = N_{ij}/N_i`: the minimum *is*
# the count model. The formula also makes full-batch training cheap: a 27 x 27 table
# instead of 169,000 one-hot rows gives the same loss and the same gradient.
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


check_count_formula()

# %%
# Training
# --------
# Full-batch gradient descent, each step on the loss of all training pairs. The
# learning rate is large because the gradient of one column is an average over
# *all* pairs, most of which do not involve it.
optimizer = torch.optim.SGD(layer.parameters(), lr=LEARNING_RATE)
losses = []
for _ in range(N_STEPS):
    loss = loss_from_counts(layer.weight.T, train_counts)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
check_count_formula()

count_model_loss = loss_from_counts(train_counts.float().log(), train_counts).item()
print(
    f"after {N_STEPS} steps: {losses[-1]:.4f}; "
    f"the count model's training loss: {count_model_loss:.4f}"
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
# match. Where a pair never occurs, :math:`\log N_{ij} = -\infty` and gradient
# descent keeps pushing the weight down without end; we compare the seen pairs.
learned = layer.weight.T.detach()
log_counts = train_counts.float().log()
seen = train_counts > 0
learned_centred = learned - (learned * seen).sum(1, keepdim=True) / seen.sum(1, keepdim=True)
log_centred = log_counts.where(seen, 0.0)
log_centred = log_centred - log_centred.sum(1, keepdim=True) / seen.sum(1, keepdim=True)
gap = (learned_centred - log_centred)[seen].abs()
print(f"seen pairs: median gap {gap.median():.3f}, largest gap {gap.max():.3f}")
for n in (1, 2, 10, 100):
    at_n = (learned_centred - log_centred)[train_counts == n].abs()
    print(f"  pairs seen {n:>3} times: mean gap {at_n.mean():.3f}")

fig, axes = plt.subplots(1, 2, figsize=(14, 6))
panels = (
    (learned_centred, "learned weights (seen pairs)", "weight - row mean"),
    (log_centred, "log-counts (seen pairs)", "log count - row mean"),
)
for ax, (matrix, title, colorbar_label) in zip(axes, panels, strict=True):
    plot_char_matrix(
        ax,
        matrix.where(seen, float("nan")),
        vocab.symbols,
        cmap="viridis",
        colorbar_label=colorbar_label,
    )
    ax.set_title(title)
fig.tight_layout()
plt.show()


# %%
# The gaps are largest for pairs seen only a few times: the gradient that pulls such
# a weight to its target is proportional to the pair's share of all pairs, so rare
# pairs converge last (and unseen ones never).
#
# L2 regularization is smoothing
# ------------------------------
# Adding :math:`\lambda \cdot \operatorname{mean}(W^2)` to the loss pulls every weight
# toward 0, that is, every row toward equal logits and the uniform distribution.
# Adding :math:`k` to every count pulls every row of probabilities toward uniform too.
# Both trade training fit for fewer extreme probabilities; the validation loss shows
# the price of pulling too hard.
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


l2_val = []
for strength in L2_STRENGTHS:
    table = train_with_l2(strength)
    l2_val.append(loss_from_counts(table, val_counts).item())
smoothing_val = []
for k in SMOOTHING_COUNTS:
    smoothed = (train_counts + k) / (train_counts + k).sum(dim=1, keepdim=True)
    smoothing_val.append(loss_from_counts(smoothed.log(), val_counts).item())

for strength, value in zip(L2_STRENGTHS, l2_val, strict=True):
    print(f"L2 strength {strength:<5g} validation loss {value:.4f}")
for k, value in zip(SMOOTHING_COUNTS, smoothing_val, strict=True):
    print(f"add-{k:<4g} smoothing validation loss {value:.4f}")

fig, (ax_l2, ax_k) = plt.subplots(1, 2, figsize=(10, 3.5), sharey=True)
ax_l2.plot([str(s) for s in L2_STRENGTHS], l2_val, marker="o")
ax_l2.set(xlabel="L2 strength", ylabel="validation loss", title="regularized layer")
ax_k.plot([str(k) for k in SMOOTHING_COUNTS], smoothing_val, marker="o", color="C1")
ax_k.set(xlabel="pseudo-count k", title="smoothed counts")
fig.tight_layout()
plt.show()

# %%
# Without smoothing the count model gives the 109 unseen pairs probability zero; a
# single one of them in a validation name makes the loss infinite, as the ``inf``
# above shows. The unregularized layer never reaches zero probability, so its loss
# stays finite. Light smoothing or regularization helps a little; heavy of either
# makes every distribution too flat.
#
# Sampling from the layer
# -----------------------
# The trained layer samples names just as the count table did. With the same seed it
# draws the same names as the count model's page: its probabilities are so close to
# the smoothed counts that every random draw lands on the same character.
generator = torch.Generator().manual_seed(SEED)
with torch.no_grad():
    names = sample_names(
        lambda context: layer(F.one_hot(context[:, 0], len(vocab)).float()),
        vocab,
        N_SAMPLES,
        1,
        generator=generator,
    )
print(", ".join(names))
