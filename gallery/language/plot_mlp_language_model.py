r"""
An MLP language model
=====================

The bigram models see one character. This model reads the last eight, looks each up
in a learned table of vectors (an *embedding*), and feeds them through a hidden layer
to predict the next character, the design of Bengio et al. (2003), "A Neural
Probabilistic Language Model". You will learn:

* how an embedding table turns characters into trainable vectors, and how the model
  is built from it;
* how batch normalization behaves differently in ``model.train()`` and
  ``model.eval()``, and why evaluation must use the latter;
* how to train with random mini-batches, AdamW and a one-cycle learning-rate
  schedule, while watching the training and validation losses;
* why the test set is scored exactly once, at the end.
"""

# %%
# Setup
# -----
# Every build of this site trains the model on a CPU, so the sizes and the number of
# steps below are kept small.
import math
import time

import matplotlib.pyplot as plt
import torch
from torch import nn
from torch.nn import functional as F

from pytorch_examples.claims import check
from pytorch_examples.data.names import CharVocabulary, context_pairs, load_names, split_names
from pytorch_examples.evaluation import evaluate
from pytorch_examples.language import bigram_counts, prediction_losses, sample_names
from pytorch_examples.plotting import plot_embedding_2d
from pytorch_examples.results import record_result

# sphinx_gallery_cited_numbers = {"2003": "the year Bengio et al. published the design"}

SEED = 42
CONTEXT_LENGTH = 8
EMBEDDING_DIM = 24
HIDDEN_DIM = 512
BATCH_SIZE = 256
N_STEPS = 6000
MAX_LEARNING_RATE = 3e-3
WEIGHT_DECAY = 0.01
EVAL_EVERY = 500
N_SAMPLES = 20

torch.manual_seed(SEED)
vocab = CharVocabulary()
splits = split_names(load_names(), seed=SEED)
train_x, train_y = context_pairs(splits.train, vocab, CONTEXT_LENGTH)
val_x, val_y = context_pairs(splits.val, vocab, CONTEXT_LENGTH)
test_x, test_y = context_pairs(splits.test, vocab, CONTEXT_LENGTH)
print(f"training pairs {len(train_y)}, validation {len(val_y)}, test {len(test_y)}")
print(
    f"the context of the 3rd pair: {vocab.decode(train_x[2])!r} -> {vocab.decode(train_y[2:3])!r}"
)


# %%
# The model
# ---------
# Each of the 8 context characters becomes a 24-number vector; the 8 vectors are
# concatenated (192 numbers) and pass through a 512-unit hidden layer, batch
# normalization and tanh, then a linear layer to 27 logits. Characters that behave
# alike can get similar vectors, so what the model learns about ``a`` can carry over
# to ``e``; a count table can share nothing.
#
# The hidden layer has no bias because batch normalization follows it: in training
# mode it subtracts each unit's mean over the batch, and a bias, the same for every
# example, is subtracted with it. Batch normalization's own learned shift takes the
# bias's place.
class MLPLanguageModel(nn.Module):
    """Embedding, one hidden layer with batch normalization and tanh, output logits."""

    def __init__(
        self, vocab_size: int, context_length: int, embedding_dim: int, hidden_dim: int
    ) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.hidden = nn.Sequential(
            nn.Linear(context_length * embedding_dim, hidden_dim, bias=False),
            nn.BatchNorm1d(hidden_dim),
            nn.Tanh(),
        )
        self.output = nn.Linear(hidden_dim, vocab_size)
        # A small last layer makes the first predictions nearly uniform, so training
        # starts near ln(vocab_size) instead of confidently wrong.
        with torch.no_grad():
            self.output.weight.mul_(0.1)
            self.output.bias.zero_()

    def forward(self, contexts: torch.Tensor) -> torch.Tensor:
        """Map contexts, shape (batch, context_length), to logits (batch, vocab_size)."""
        vectors = self.embedding(contexts).flatten(start_dim=1)  # concatenate the 8
        return self.output(self.hidden(vectors))


model = MLPLanguageModel(len(vocab), CONTEXT_LENGTH, EMBEDDING_DIM, HIDDEN_DIM)
n_parameters = sum(p.numel() for p in model.parameters())
print(model)
print(f"parameters: {n_parameters:,}")
print(
    f"loss before training {evaluate(model, val_x, val_y).loss:.3f}, "
    f"uniform ln {len(vocab)} = {math.log(len(vocab)):.3f}"
)

# %%
# The bias would indeed be wasted: batch normalization in training mode gives the
# same output with or without one, up to rounding. Each output is a difference
# divided by the unit's standard deviation over the batch, computed in float32. The
# rounding errors, a few times float32's resolution (about 1e-7) per operation, are
# magnified by the division at most by one over the smallest of those standard
# deviations, printed below, and still add up to the order of 1e-5 at most.
with torch.no_grad():
    before_norm = model.hidden[0](model.embedding(val_x[:BATCH_SIZE]).flatten(start_dim=1))
    some_bias = torch.linspace(-1.0, 1.0, HIDDEN_DIM)
    without = F.batch_norm(before_norm, None, None, training=True)
    with_bias = F.batch_norm(before_norm + some_bias, None, None, training=True)
unit_std = before_norm.std(dim=0, correction=0)
difference = (with_bias - without).abs().max()
print(
    f"standard deviation of a hidden unit over the batch: {unit_std.min():.2f} to "
    f"{unit_std.max():.2f}, mean {unit_std.mean():.2f}; one over the smallest "
    f"{1 / unit_std.min():.1f}"
)
print(f"batch norm with and without a bias: largest difference {difference:.1e}")
check(difference < 1e-5, "batch norm gives the same output with or without a bias, to 1e-5")

# %%
# Training mode and evaluation mode
# ---------------------------------
# In training mode, batch normalization standardizes each hidden unit with the mean
# and variance of the *current batch*, and updates running averages of them. In
# evaluation mode it uses those running averages instead, so a prediction depends
# only on its own input. The same context gets different outputs in training mode
# depending on its batch-mates:
context = val_x[:1]
with torch.no_grad():
    model.train()
    in_batch_a = model(torch.cat([context, val_x[100:163]]))[0]
    in_batch_b = model(torch.cat([context, val_x[200:263]]))[0]
    model.eval()
    alone = model(context)[0]
print(
    f"train mode, two batches: largest logit difference "
    f"{(in_batch_a - in_batch_b).abs().max():.4f}"
)
print(f"eval mode, batch of one: works, logits shape {tuple(alone.shape)}")
check(
    not torch.equal(in_batch_a, in_batch_b),
    "in training mode, the same context gets different outputs in different batches",
)
# The forward passes in training mode above also moved the running statistics, toward
# validation contexts; training starts from a fresh model, so that no validation data
# has touched it and the run does not depend on the demonstrations above.
torch.manual_seed(SEED)
model = MLPLanguageModel(len(vocab), CONTEXT_LENGTH, EMBEDDING_DIM, HIDDEN_DIM)

# %%
# Training
# --------
# Each step draws a random mini-batch of pairs, so an epoch has no special role
# here: 6,000 steps of 256 pairs are about 9 passes over the training pairs.
# :class:`~torch.optim.AdamW` adapts the step size per parameter and decays the
# weights; :class:`~torch.optim.lr_scheduler.OneCycleLR` warms the learning rate up
# over the first 10% of steps and then anneals it to almost zero, which lets the
# last steps settle. By default the scheduler would also cycle AdamW's first beta
# (its momentum) against the learning rate, in place of AdamW's own value;
# ``cycle_momentum=False`` keeps AdamW's. Every ``EVAL_EVERY`` steps we measure
# the loss on *all* training pairs and all validation pairs in evaluation mode. Only
# the steps themselves count toward the training time.
print(f"{N_STEPS} steps of {BATCH_SIZE} pairs: {N_STEPS * BATCH_SIZE / len(train_y):.1f} passes")
optimizer = torch.optim.AdamW(model.parameters(), lr=MAX_LEARNING_RATE, weight_decay=WEIGHT_DECAY)
scheduler = torch.optim.lr_scheduler.OneCycleLR(
    optimizer, max_lr=MAX_LEARNING_RATE, total_steps=N_STEPS, pct_start=0.1, cycle_momentum=False
)
batch_generator = torch.Generator().manual_seed(SEED)

eval_steps, train_curve, val_curve, learning_rates = [], [], [], []
training_seconds = 0.0
for step in range(1, N_STEPS + 1):
    started = time.perf_counter()
    model.train()
    batch = torch.randint(0, len(train_y), (BATCH_SIZE,), generator=batch_generator)
    loss = F.cross_entropy(model(train_x[batch]), train_y[batch])
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    learning_rates.append(scheduler.get_last_lr()[0])
    scheduler.step()
    training_seconds += time.perf_counter() - started

    if step % EVAL_EVERY == 0:
        eval_steps.append(step)
        train_curve.append(evaluate(model, train_x, train_y).loss)
        val_curve.append(evaluate(model, val_x, val_y).loss)
        print(
            f"step {step:5d}  train {train_curve[-1]:.4f}  val {val_curve[-1]:.4f}  "
            f"({training_seconds:.1f} s)"
        )

# %%
# Both losses fall throughout, but the validation loss falls more slowly: the gap
# between the curves, the *generalization gap*, widens as the model fits the training
# names more closely than new ones: it learns some detail that holds only for the
# training names. Not yet harmfully, though: the validation loss still falls at every
# evaluation, so stopping training earlier would not have lowered it.
gaps = [v - t for v, t in zip(val_curve, train_curve, strict=True)]
print(
    f"gap between validation and training loss: {gaps[0]:.3f} "
    f"at step {eval_steps[0]}, {gaps[-1]:.3f} at the end"
)
check(
    train_curve == sorted(train_curve, reverse=True)
    and val_curve == sorted(val_curve, reverse=True),
    "both losses fall at every evaluation",
)
check(
    gaps == sorted(gaps),
    "the validation loss falls more slowly: the gap widens at every evaluation",
)
fig, (ax_loss, ax_lr) = plt.subplots(1, 2, figsize=(11, 3.8))
ax_loss.plot(eval_steps, train_curve, marker="o", label="training pairs")
ax_loss.plot(eval_steps, val_curve, marker="o", label="validation pairs")
ax_loss.set(xlabel="step", ylabel="loss (nats per character)", title="loss in eval mode")
ax_loss.grid(True, alpha=0.3)
ax_loss.legend()
ax_lr.plot(range(1, N_STEPS + 1), learning_rates)
ax_lr.set(xlabel="step", ylabel="learning rate", title="one-cycle schedule")
ax_lr.grid(True, alpha=0.3)
fig.tight_layout()
plt.show()

# %%
# What the embedding learned
# --------------------------
# The 27 embedding vectors, projected on their two main directions. Two directions
# hold less than half of the variance of these 24-dimensional vectors, so the
# picture is a rough shadow of the embedding.
fig, ax = plt.subplots(figsize=(6, 5.5))
shown = plot_embedding_2d(ax, model.embedding.weight, vocab.symbols)
ax.set_title(f"character embeddings ({100 * shown:.0f}% of their variance)")
fig.tight_layout()
plt.show()
print(f"variance along the two directions: {shown:.0%}")
check(shown < 0.5, "two directions hold less than half of the variance")

# %%
# The full vectors say more. Here are each letter's nearest neighbours by cosine
# similarity in all 24 dimensions: characters the model treats alike as context.
with torch.no_grad():
    unit = F.normalize(model.embedding.weight, dim=1)
    similarity = unit @ unit.T
    similarity.fill_diagonal_(-2.0)  # never list a character as its own neighbour
neighbours = {
    symbol: vocab.decode(similarity[vocab.encode(symbol)[0]].topk(3).indices)
    for symbol in vocab.symbols
}
for symbol in ".aeiouqxyz":
    print(f"{symbol}: {' '.join(neighbours[symbol])}")

# %%
# Are vowels each other's neighbours? Among the 15 neighbours of the five vowels, a
# random choice from the 26 other symbols would give about 15 x 4/26 = 2.3 vowels.
# The model finds more than twice that many, though nobody told it which letters are
# vowels: they play similar roles in names.
vowels = set("aeiou")
vowel_hits = sum(c in vowels for v in sorted(vowels) for c in neighbours[v])
n_listed = sum(len(neighbours[v]) for v in vowels)
n_others = len(vocab) - 1  # a character is never its own neighbour
chance = n_listed * (len(vowels) - 1) / n_others
print(
    f"vowels among the vowels' nearest neighbours: {vowel_hits} of {n_listed} "
    f"(chance, drawing from the {n_others} other symbols: {chance:.1f})"
)
check(vowel_hits > 2 * chance, "vowels are the vowels' neighbours over twice as often as chance")

# %%
# Sampled names
# -------------
generator = torch.Generator().manual_seed(SEED)
print(", ".join(sample_names(model, vocab, N_SAMPLES, CONTEXT_LENGTH, generator=generator)))

# %%
# Final scores
# ------------
# First the comparison, on the validation names: the add-one bigram count model of
# :ref:`sphx_glr_auto_examples_language_plot_bigram_counts.py`, rebuilt here from the
# last character of each training context.
val_loss = evaluate(model, val_x, val_y).loss
bigram = bigram_counts(train_x[:, -1], train_y, len(vocab)) + 1
bigram_probabilities = bigram / bigram.sum(dim=1, keepdim=True)
bigram_val_loss = -bigram_probabilities[val_x[:, -1], val_y].log().mean().item()
print(f"validation loss: MLP {val_loss:.3f}, bigram counts {bigram_val_loss:.3f}")
check(val_loss < bigram_val_loss, "the MLP beats the bigram count model on the validation names")

# %%
# The test names played no part in training or in any comparison above; any change to
# the settings at the top should be judged on the validation loss too. Scored once,
# here, the test loss estimates how the model does on names it has never met. The
# record also keeps the loss of each validation prediction
# (:func:`~pytorch_examples.language.prediction_losses`), with the number of letters
# before it, so that :doc:`plot_language_models_compared` can pair the models.
test_loss = evaluate(model, test_x, test_y).loss
val_losses = prediction_losses(model, val_x, val_y)
val_positions = [position for name in splits.val for position in range(len(name) + 1)]
print(f"parameters: {n_parameters:,}")
print(f"training time: {training_seconds:.1f} s for {N_STEPS} steps")
print(f"validation loss: {val_loss:.3f}")
print(f"test loss: {test_loss:.3f}")
record_result(
    "plot_mlp_language_model",
    val_loss=val_loss,
    test_loss=test_loss,
    parameters=n_parameters,
    training_seconds=training_seconds,
    steps=N_STEPS,
    training_predictions=N_STEPS * BATCH_SIZE,
    context_length=CONTEXT_LENGTH,
    val_losses=val_losses.tolist(),
    val_positions=val_positions,
)
