r"""
A recurrent network reads names
===============================

:doc:`plot_recurrent_step` wrote out how a recurrent network updates its *hidden
state* at every character. Here the networks read names, so each prediction can depend
on the whole name so far. (Names are short,
though: for most predictions the MLP's window already holds the whole name so far, and
:doc:`plot_language_models_compared` measures where the two differ.) This page trains a
gated recurrent unit (GRU, Cho et al., 2014) and, for contrast, a plain recurrent
network with about as many parameters.
You will learn:

* how names of different lengths share a batch, with ``ignore_index`` keeping the
  padding out of the loss;
* what *teacher forcing* is, and why sampling cannot use it;
* what gradient clipping guards against, and why a plain RNN remembers poorly,
  measured by the gradient that reaches each earlier hidden state.
"""

# %%
# Setup
# -----
# Each name becomes one sequence: the input is the boundary symbol followed by the
# name, the target is the name followed by the boundary symbol. The score is the mean
# negative log-likelihood per predicted character, end of name included, over all the
# validation names: the metric of the MLP page, on the same split.
import time

import matplotlib.pyplot as plt
import torch
from torch import nn
from torch.nn import functional as F

from pytorch_examples.claims import check
from pytorch_examples.comparison import paired_difference, subset_contrast
from pytorch_examples.data.names import CharVocabulary, context_pairs, load_names, split_names
from pytorch_examples.language import IGNORE_INDEX, draw_names, prediction_losses
from pytorch_examples.results import record_result

# sphinx_gallery_cited_numbers = {"2014": "year of the cited paper"}

SEED = 42
EMBEDDING_DIM = 32
HIDDEN_DIM = 256  # the GRU's state
RNN_HIDDEN_DIM = 450  # gives the plain RNN about as many parameters as the GRU
BATCH_SIZE = 256  # names per step
N_STEPS = 700
MAX_LEARNING_RATE = 5e-3
WEIGHT_DECAY = 0.01
CLIP_NORM = 1.0
EVAL_EVERY = 175
MIN_NAMES = 100  # the loss per position is shown where at least this many names reach
EARLY_POSITIONS = 3  # the first characters of a name, which need little memory
GRADIENT_NAME_LENGTH = 8  # validation names of this length show the gradients
RATIO_MARGIN = 0.9  # the plain RNN's gradient ratio counts as smaller only below this share
TEMPERATURES = (0.5, 1.0, 1.5)
N_SAMPLES = 12

torch.manual_seed(SEED)
vocab = CharVocabulary()
BOUNDARY = vocab.encode(".")[0]
splits = split_names(load_names(), seed=SEED)


def encode_names(names):
    """Inputs ``.name`` and targets ``name.``, padded to the longest name."""
    length = max(len(name) for name in names) + 1
    inputs, targets = [], []
    for name in names:
        letters = vocab.encode(name)
        padding = length - len(letters) - 1
        inputs.append([BOUNDARY, *letters] + [BOUNDARY] * padding)
        targets.append([*letters, BOUNDARY] + [IGNORE_INDEX] * padding)
    return torch.tensor(inputs), torch.tensor(targets)


train_x, train_y = encode_names(splits.train)
val_x, val_y = encode_names(splits.val)
test_x, test_y = encode_names(splits.test)
train_lengths = (train_y != IGNORE_INDEX).sum(dim=1)
n_val_predicted = int((val_y != IGNORE_INDEX).sum())
check(
    n_val_predicted == len(context_pairs(splits.val, vocab, 1)[1]),
    f"the validation names hold {n_val_predicted} predicted characters, as many as "
    "the MLP page's validation pairs",
)

# %%
# A batch is a rectangle, so shorter names are padded at the end. The padded inputs
# hold the boundary symbol; the padded *targets* hold ``IGNORE_INDEX``, and
# :func:`~torch.nn.functional.cross_entropy` with ``ignore_index=IGNORE_INDEX`` leaves those
# positions out of both the sum and the count it divides by.
print(f"input   {vocab.decode(val_x[0])!r}\ntarget  {vocab.decode(val_y[0].clamp(min=0))!r}")
print(f"targets {val_y[0].tolist()}")

# %%
# The model
# ---------
# An embedding turns each character into a vector, the recurrent layer runs along the
# name, and a linear layer turns each hidden state into logits for the next character.
# Training feeds the *true* previous character at every position, not the model's
# own guess: *teacher forcing*. One call then processes every position of every name,
# and the loss is exactly what we measure, the probability of each true character
# given the true ones before it.


def mean_loss(model, inputs, targets):
    """Negative log-likelihood per predicted character, padding left out."""
    return prediction_losses(model, inputs, targets).double().mean().item()


class CharRNN(nn.Module):
    def __init__(self, cell, vocab_size, embedding_dim, hidden_dim):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        recurrent_class = {"rnn": nn.RNN, "gru": nn.GRU}[cell]
        self.recurrent = recurrent_class(embedding_dim, hidden_dim, batch_first=True)
        self.head = nn.Linear(hidden_dim, vocab_size)

    def forward(self, tokens, state=None):
        """Logits at every position, (batch, length, vocab_size), and the last state."""
        outputs, state = self.recurrent(self.embedding(tokens), state)
        return self.head(outputs), state


# %%
# The network reads left to right, so nothing after a name's end can change a
# prediction inside it: with the padded inputs replaced by random characters, the
# loss does not change at all.
probe = CharRNN("gru", len(vocab), EMBEDDING_DIM, HIDDEN_DIM)
scrambled = torch.where(val_y == IGNORE_INDEX, torch.randint_like(val_x, len(vocab)), val_x)
check(
    mean_loss(probe, val_x, val_y) == mean_loss(probe, scrambled, val_y),
    "random padding leaves the loss exactly the same",
)

# %%
# Training
# --------
# Both networks train the same way: random batches of names cut to the longest of
# them, AdamW with a one-cycle schedule of the learning rate, and gradient clipping.
# By default the schedule would also cycle AdamW's first beta (its momentum);
# ``cycle_momentum=False`` keeps AdamW's own. The plain RNN reuses the GRU's
# settings; only its width differs. Clipping rescales a
# gradient whose norm exceeds ``CLIP_NORM``, so that a rare exploding gradient, a
# known failure of recurrent networks, cannot throw the weights far; the printout
# says how often it acted. Only the steps count toward the training times, and the
# predicted characters of every batch are counted, a budget that the comparison page
# sets beside the other models'.


def train(model, label):
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=MAX_LEARNING_RATE, weight_decay=WEIGHT_DECAY
    )
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer,
        max_lr=MAX_LEARNING_RATE,
        total_steps=N_STEPS,
        pct_start=0.1,
        cycle_momentum=False,
    )
    batch_generator = torch.Generator().manual_seed(SEED)
    curve, seconds, n_clipped, n_predicted = [], 0.0, 0, 0
    for step in range(1, N_STEPS + 1):
        started = time.perf_counter()
        model.train()
        batch = torch.randint(0, len(train_x), (BATCH_SIZE,), generator=batch_generator)
        length = int(train_lengths[batch].max())
        logits, _ = model(train_x[batch, :length])
        targets = train_y[batch, :length]
        n_predicted += int((targets != IGNORE_INDEX).sum())
        loss = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=IGNORE_INDEX)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        n_clipped += int(nn.utils.clip_grad_norm_(model.parameters(), CLIP_NORM) > CLIP_NORM)
        optimizer.step()
        scheduler.step()
        seconds += time.perf_counter() - started
        if step % EVAL_EVERY == 0:
            curve.append(mean_loss(model, val_x, val_y))
            print(f"{label} step {step:4d}  val {curve[-1]:.4f}  ({seconds:.1f} s)")
    print(f"{label}: clipping acted on {n_clipped} of {N_STEPS} steps")
    return curve, seconds, n_predicted


gru = CharRNN("gru", len(vocab), EMBEDDING_DIM, HIDDEN_DIM)
gru_curve, training_seconds, training_predictions = train(gru, "GRU")
rnn = CharRNN("rnn", len(vocab), EMBEDDING_DIM, RNN_HIDDEN_DIM)
rnn_curve, rnn_seconds, _ = train(rnn, "RNN")
n_parameters = sum(p.numel() for p in gru.parameters())
print(f"parameters: GRU {n_parameters:,}, plain RNN {sum(p.numel() for p in rnn.parameters()):,}")
print(f"training time: GRU {training_seconds:.1f} s, plain RNN {rnn_seconds:.1f} s")

# %%
# Where the plain RNN falls behind
# --------------------------------
# Left: how much higher the plain RNN's validation loss is than the GRU's at each
# position of the names (positions that at least ``MIN_NAMES`` names reach). Paired
# prediction by prediction, the plain RNN's loss is higher overall, by more than the
# noise. The printout splits the gap between the first three characters, which need
# little memory, and the fourth on, where a prediction can use what was read several
# steps before: the plain RNN's excess loss is larger from the fourth character on than
# at the first three, by more than twice the standard error of that contrast
# (:func:`~pytorch_examples.comparison.subset_contrast`). The predictions of one name
# share their context, so every standard error here counts each name once. The plain
# RNN reuses the GRU's settings untuned, and each network was trained with one seed
# whose spread is not measured: this compares these two trained networks, not the two
# architectures.
#
# The gradients show one reason: training can teach a state to keep something only if
# the gradient of a later loss reaches that state. The two updates, written out on
# :doc:`plot_recurrent_step`, are :math:`h_t = \tanh(W_x x_t + W_h h_{t-1} + b)` for
# the plain RNN and :math:`h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}` for the GRU,
# with :math:`z_t` its update gate and :math:`n_t` its candidate state. Going back one
# step, the plain RNN multiplies the gradient by :math:`W_h^\top` and the tanh slopes
# :math:`1 - h_t^2 \le 1`; the GRU also passes it along :math:`z_t \odot h_{t-1}`,
# scaled only by the gate. Right: for the validation names of ``GRADIENT_NAME_LENGTH``
# letters, the gradient of the loss of the last prediction (the end of the name) with
# respect to each hidden state, from the trained layer run one step at a time, as a
# ratio to its size at the last state: the mean gradient norm over the names at each
# state, divided by the mean at the last, without a standard error, so the page claims
# a difference only where it is wide: at every state between the first and the last,
# the plain RNN's ratio is below ``RATIO_MARGIN`` times the GRU's. At state 0, the state
# after the boundary symbol (the same for every name), the plain RNN's ratio rises
# again and the two are close; the page does not measure why, and claims nothing there.


def state_gradients(model):
    names = [name for name in splits.val if len(name) == GRADIENT_NAME_LENGTH]
    inputs, targets = encode_names(names)
    vectors = model.embedding(inputs).detach()
    state, states = torch.zeros(1, len(names), model.head.in_features), []
    for t in range(inputs.shape[1]):  # one step per call, so that each state is kept
        _, state = model.recurrent(vectors[:, t : t + 1], state)
        states.append(state)
    loss = F.cross_entropy(model.head(state[0]), targets[:, -1])
    norms = torch.stack([g[0].norm(dim=1).mean() for g in torch.autograd.grad(loss, states)])
    return norms / norms[-1]  # relative to the gradient at the last state


predicted = val_y != IGNORE_INDEX
val_positions = torch.arange(val_y.shape[1]).expand_as(val_y)[predicted]
name_index = torch.arange(len(val_y)).unsqueeze(1).expand_as(val_y)[predicted]
gru_losses, rnn_losses = (prediction_losses(model, val_x, val_y) for model in (gru, rnn))
shown = int((predicted.sum(dim=0) >= MIN_NAMES).sum())
by_position = torch.zeros(val_y.shape[1]).index_add_(0, val_positions, rnn_losses - gru_losses)
gap = (by_position / predicted.sum(dim=0))[:shown]
gradients = {"GRU": state_gradients(gru), "plain RNN": state_gradients(rnn)}
fig, (ax_loss, ax_gradient) = plt.subplots(1, 2, figsize=(11, 3.8))
ax_loss.bar(range(1, shown + 1), gap.tolist(), color=["C1" if g > 0 else "C0" for g in gap])
ax_loss.axhline(0, color="black", lw=0.8)
ax_loss.set(
    xlabel="position of the predicted character",
    ylabel="validation loss, plain RNN minus GRU",
    title="above 0: the plain RNN does worse",
)
for label in gradients:
    ax_gradient.semilogy(gradients[label].tolist(), marker="o", label=label)
ax_gradient.set(
    xlabel="hidden state after character (0 = the boundary symbol)",
    ylabel="gradient norm / norm at the last state",
)
ax_gradient.legend()
for ax in (ax_loss, ax_gradient):
    ax.grid(True, alpha=0.3)
fig.tight_layout()
plt.show()
print(f"loss gap, plain RNN minus GRU, by position: {[round(g, 3) for g in gap.tolist()]}")
for label, relative in gradients.items():
    ratios = [round(ratio, 3) for ratio in relative.tolist()]
    print(f"{label}: gradient / gradient at the last state {ratios}")
overall = paired_difference(rnn_losses, gru_losses, groups=name_index)
print(f"all characters: {overall.describe('plain RNN', 'GRU')}")
check(overall.a_higher(), "the plain RNN's validation loss is higher than the GRU's, beyond noise")
early = val_positions < EARLY_POSITIONS
for part, label in (
    (early, f"characters 1-{EARLY_POSITIONS}"),
    (~early, f"characters {EARLY_POSITIONS + 1} on"),
):
    by_part = paired_difference(rnn_losses[part], gru_losses[part], groups=name_index[part])
    print(f"{label}: {by_part.describe('plain RNN', 'GRU')}")
growth = subset_contrast(rnn_losses, gru_losses, ~early, groups=name_index)
print(growth.describe(f"excess from character {EARLY_POSITIONS + 1} on", "excess before"))
check(
    growth.a_higher(),
    "the plain RNN's excess loss is larger from the fourth character on than at the first "
    "three, by more than twice the standard error of that contrast",
)
check(
    (gradients["plain RNN"][1:-1] < RATIO_MARGIN * gradients["GRU"][1:-1]).all(),
    "at every state between the first and the last, the plain RNN's gradient ratio is "
    "below RATIO_MARGIN times the GRU's",
)

# %%
# Sampling with a temperature
# ---------------------------
# Sampling cannot use teacher forcing, since there is no true name: each drawn
# character is fed back as the next input, and a temperature below 1 sharpens the
# distribution, above 1 flattens it. The library sampler
# :func:`~pytorch_examples.language.draw_names` does both: it reads the whole
# name so far again for every character, where the hidden state would let the network
# read just the new one; for names this short, that costs little.
generator = torch.Generator().manual_seed(SEED)
for temperature in TEMPERATURES:
    names = draw_names(gru, vocab, N_SAMPLES, generator=generator, temperature=temperature)
    print(f"temperature {temperature}: {', '.join(names)}")

# %%
# Final scores
# ------------
# The sizes, the learning rate and the number of steps were set by hand by the
# authors of this page, from validation runs that the page does not show; the plain
# RNN reuses the GRU's settings. The test names played no part, and are scored once,
# here, for the GRU. The record keeps the loss of each validation prediction, with the
# number of letters before it, for :doc:`plot_language_models_compared`.
val_loss = gru_losses.double().mean().item()
test_loss = mean_loss(gru, test_x, test_y)
print(f"parameters: {n_parameters:,}")
print(f"training time: {training_seconds:.1f} s for {N_STEPS} steps")
print(f"validation loss: {val_loss:.3f}")
print(f"test loss: {test_loss:.3f}")
record_result(
    "plot_recurrent_network",
    val_loss=val_loss,
    test_loss=test_loss,
    parameters=n_parameters,
    training_seconds=training_seconds,
    steps=N_STEPS,
    training_predictions=training_predictions,
    val_losses=gru_losses.tolist(),
    val_positions=val_positions.tolist(),
)
