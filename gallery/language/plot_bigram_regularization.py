r"""
Regularizing the bigram layer, or smoothing the counts
======================================================

The softmax layer of :doc:`plot_softmax_bigram` learns the bigram counts by gradient
descent; the count model of :doc:`plot_bigram_counts` smooths its counts. Both knobs
pull a model toward the uniform distribution: an L2 penalty pulls the layer's weights
toward zero, a pseudo-count pulls each row of counted probabilities toward equal
ones. This page asks the validation names whether either helps. You will learn:

* that L2 regularization pulls the weights toward the uniform model, as smoothing
  pulls the counts;
* why smoothing matters to the count model and not to the layer trained for a fixed
  number of steps from zero weights: stopping early already regularizes;
* how to let the validation names make the choice.
"""

# %%
# L2 regularization and smoothing
# -------------------------------
# Adding :math:`\lambda \cdot \operatorname{mean}(W^2)` to the loss pulls every weight
# toward 0, that is, every row toward equal logits and the uniform distribution.
# Adding :math:`k` to every count pulls every row of probabilities toward uniform too.
# Both give up some training fit for less extreme probabilities; only the validation
# loss can tell whether that pays. Each layer below starts from zero weights (the
# uniform model) and takes ``N_STEPS`` full-batch steps of gradient descent on the loss
# computed from the counts, as on :doc:`plot_softmax_bigram`. That page's layer
# started from the small random weights that :class:`torch.nn.Linear` draws; this page
# retrains it from zero weights instead, so that no seed enters the training: the one
# with strength 0 is the *plain layer* below.
import math

import matplotlib.pyplot as plt
import torch

from pytorch_examples.claims import check
from pytorch_examples.comparison import paired_difference
from pytorch_examples.data.names import CharVocabulary, context_pairs, load_names, split_names
from pytorch_examples.language import bigram_counts, cross_entropy_from_counts

SEED = 42
LEARNING_RATE = 50.0  # as on the softmax page
N_STEPS = 1000  # full-batch gradient descent steps, as on the softmax page
L2_STRENGTHS = (0.0, 0.01, 0.1, 1.0)
SMOOTHING_COUNTS = (0.0, 1.0, 10.0, 100.0)

torch.manual_seed(SEED)
vocab = CharVocabulary()
splits = split_names(load_names(), seed=SEED)
train_x, train_y = context_pairs(splits.train, vocab, context_length=1)
val_x, val_y = context_pairs(splits.val, vocab, context_length=1)
train_counts = bigram_counts(train_x, train_y, len(vocab))
val_counts = bigram_counts(val_x, val_y, len(vocab))
print(f"{train_counts.numel()} weights per layer, {len(train_y):,} training pairs")


def train_with_l2(strength: float) -> torch.Tensor:
    """Minimize the count-form loss plus an L2 penalty, from zero weights."""
    table = torch.zeros(len(vocab), len(vocab), requires_grad=True)
    l2_optimizer = torch.optim.SGD([table], lr=LEARNING_RATE)
    for _ in range(N_STEPS):
        penalty = strength * table.pow(2).mean()
        loss = cross_entropy_from_counts(table, train_counts) + penalty
        l2_optimizer.zero_grad()
        loss.backward()
        l2_optimizer.step()
    return table.detach()


l2_tables = [train_with_l2(strength) for strength in L2_STRENGTHS]
l2_train = [cross_entropy_from_counts(table, train_counts).item() for table in l2_tables]
l2_val = [cross_entropy_from_counts(table, val_counts).item() for table in l2_tables]
smoothing_val = []
for k in SMOOTHING_COUNTS:
    smoothed = (train_counts + k) / (train_counts + k).sum(dim=1, keepdim=True)
    smoothing_val.append(cross_entropy_from_counts(smoothed.log(), val_counts).item())

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
# The validation losses differ by little, so each is compared with the plain layer's
# pair by pair, with a standard error
# (:func:`~pytorch_examples.comparison.paired_difference`). The pairs of one name share
# it, so the standard error counts each validation name once. The training is
# deterministic (full batch, from zero weights), so there is no seed spread to add;
# the standard error is the noise of the validation names. A tie keeps the model
# without a knob.
name_of_pair = torch.repeat_interleave(torch.tensor([len(name) + 1 for name in splits.val]))


def val_pair_losses(logit_table: torch.Tensor) -> torch.Tensor:
    """The loss of every validation pair, in order, under a table of logits."""
    return -logit_table.log_softmax(dim=1)[val_x[:, 0], val_y]


def compare(logit_table: torch.Tensor, other: torch.Tensor, label: str, other_label: str):
    """Pair two tables' validation losses and print the difference, name by name."""
    difference = paired_difference(
        val_pair_losses(logit_table), val_pair_losses(other), groups=name_of_pair
    )
    print(difference.describe(label, other_label, digits=5))
    return difference


l2_labels = [f"L2 {strength:g}" for strength in L2_STRENGTHS]
l2_steps = [
    compare(l2_tables[i + 1], l2_tables[i], l2_labels[i + 1], l2_labels[i])
    for i in range(len(L2_STRENGTHS) - 1)
]
i_add_one = SMOOTHING_COUNTS.index(1.0)
smoothed_gaps = [
    compare(
        ((train_counts + k) / (train_counts + k).sum(dim=1, keepdim=True)).log(),
        l2_tables[0],
        f"add-{k:g}",
        "plain layer",
    )
    for k in SMOOTHING_COUNTS[i_add_one:]
]

# %%
# Of the values tried, neither knob does better than the plain layer. Each step up in
# L2 strength raises the validation loss beyond noise, so every strength scores worse
# than none; add-one smoothing ties the plain layer (within noise), and larger
# pseudo-counts score higher beyond noise. So the validation names choose no L2
# penalty for the layer; the add-one count model, tied with it, would serve as well.
check(
    all(step.a_higher() for step in l2_steps),
    "each step up in L2 strength raises the validation loss beyond noise",
)
check(
    smoothed_gaps[0].within_noise() and all(gap.a_higher() for gap in smoothed_gaps[1:]),
    "add-one smoothing ties the plain layer within noise, and larger pseudo-counts score "
    "higher beyond noise",
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
