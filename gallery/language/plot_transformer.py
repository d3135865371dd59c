r"""
A small GPT trained on names
============================

:doc:`plot_self_attention` wrote out self-attention for one name, and
:doc:`plot_packed_names` packed names into rows with a mask that keeps them apart. This
page builds a small decoder-only transformer from these pieces, like GPT, and trains it
on the names of the previous pages. You will learn:

* what position embeddings give a transformer, and how pre-norm residual blocks
  stack attention and an MLP;
* how dropout, AdamW and a one-cycle schedule train it;
* what its heads attend to, read with a forward hook, and how a temperature changes
  the names it samples.
"""

# %%
# Setup
# -----
# The names are packed as on :doc:`plot_packed_names`: each name is the input ``.name``
# with the target ``name.``. The score is the mean negative log-likelihood per predicted
# character, end of name included, over all the validation names: the metric of the
# MLP page, on the same split.
import math
import time

import matplotlib.pyplot as plt
import torch
from torch import nn
from torch.nn import functional as F

from pytorch_examples.claims import check
from pytorch_examples.data.names import CharVocabulary, load_names, split_names
from pytorch_examples.evaluation import eval_mode
from pytorch_examples.language import (
    IGNORE_INDEX,
    draw_names,
    pack_names,
    prediction_losses,
    same_name_causal_mask,
    uniform_loss,
)
from pytorch_examples.results import record_result

SEED = 42
BLOCK_SIZE = 16  # positions of one name the model reads: "." and up to 15 letters
ROW_LENGTH = 32  # positions of a row of a batch, which holds several names
WIDTH = 96  # numbers per position
N_HEADS = 6
N_LAYERS = 3
DROPOUT = 0.1
ROWS_PER_BATCH = 16
N_STEPS = 4000
MAX_LEARNING_RATE = 5e-3
WEIGHT_DECAY = 0.1
CLIP_NORM = 1.0
EVAL_EVERY = 800
NAME = "isabella"  # the name whose attention is drawn
TEMPERATURES = (0.5, 1.0, 1.5)
N_SAMPLES = 12  # names shown per temperature
N_COUNTED = 500  # names drawn per temperature to count copies of training names

torch.manual_seed(SEED)
vocab = CharVocabulary()
splits = split_names(load_names(), seed=SEED)
val_rows = pack_names(splits.val, range(len(splits.val)), vocab, ROW_LENGTH)
test_rows = pack_names(splits.test, range(len(splits.test)), vocab, ROW_LENGTH)

# %%
# The model
# ---------
# Each layer's attention is that of :doc:`plot_self_attention`, with the mask of
# :doc:`plot_packed_names`. The multi-head module hands the queries, keys, values and
# mask to :func:`~torch.nn.functional.scaled_dot_product_attention`, which scales,
# masks and mixes as the written-out version did, in one call, without keeping the
# weights.
#
# Attention does not see where a character stands: the weight a position gets
# depends on what it holds, not on how far back it is. A causal model could infer its
# place only indirectly, from the mask, since position :math:`p` attends over
# :math:`p + 1` positions. A *position embedding*, a learned vector for each place
# added to the character's own embedding at the input, states the place directly.
# (This page trains no model without one, so it does not measure how much that helps
# here.) Each block adds the output of attention to its input, then the output of an
# MLP: *residual* connections, which carry the position embedding to the later layers
# and give the gradient a direct path through every layer. Layer normalization comes
# before each of the two (*pre-norm*, as in GPT-2), so the residual path itself is
# never rescaled. In training, dropout zeroes a random share ``DROPOUT`` of each
# branch's output, so that no unit can count on another.


class CausalSelfAttention(nn.Module):
    def __init__(self, width, n_heads):
        super().__init__()
        self.n_heads = n_heads
        self.qkv = nn.Linear(width, 3 * width)  # queries, keys and values in one matmul
        self.mix = nn.Linear(width, width)

    def forward(self, x, mask):
        batch, length, width = x.shape
        # (batch, length, 3 * width) -> 3 x (batch, heads, length, width / heads)
        qkv = self.qkv(x).view(batch, length, 3, self.n_heads, width // self.n_heads)
        queries, keys, values = qkv.permute(2, 0, 3, 1, 4)
        heads = F.scaled_dot_product_attention(queries, keys, values, attn_mask=mask)
        return self.mix(heads.transpose(1, 2).reshape(batch, length, width))


class Block(nn.Module):
    def __init__(self, width, n_heads, dropout):
        super().__init__()
        self.norm1 = nn.LayerNorm(width)
        self.attention = CausalSelfAttention(width, n_heads)
        self.norm2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(
            nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width)
        )
        self.dropout = nn.Dropout(dropout)

    def forward(self, x, mask):
        x = x + self.dropout(self.attention(self.norm1(x), mask))
        return x + self.dropout(self.mlp(self.norm2(x)))


class GPT(nn.Module):
    def __init__(self, vocab_size, block_size, width, n_layers, n_heads, dropout):
        super().__init__()
        if width % n_heads:
            raise ValueError(f"width {width} must be a multiple of n_heads {n_heads}")
        self.block_size = block_size
        self.token_embedding = nn.Embedding(vocab_size, width)
        self.position_embedding = nn.Embedding(block_size, width)
        self.blocks = nn.ModuleList(Block(width, n_heads, dropout) for _ in range(n_layers))
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, vocab_size)

    def forward(self, tokens, positions=None, name_ids=None):
        """Next-character logits at every position, (batch, length, vocab_size).

        Without ``positions`` and ``name_ids``, each row is one name from its start.
        """
        if positions is None:
            positions = torch.arange(tokens.shape[1]).expand_as(tokens)
            name_ids = torch.zeros_like(tokens)
        if positions.max() >= self.block_size:
            raise ValueError(f"the model reads at most {self.block_size} positions of a name")
        x = self.token_embedding(tokens) + self.position_embedding(positions)
        mask = same_name_causal_mask(name_ids)
        for block in self.blocks:
            x = block(x, mask)
        return self.head(self.norm(x))


def mean_loss(model, rows):
    """Negative log-likelihood per predicted character of packed rows."""
    return prediction_losses(model, rows[:1] + rows[2:], rows[1]).double().mean().item()


model = GPT(len(vocab), BLOCK_SIZE, WIDTH, N_LAYERS, N_HEADS, DROPOUT)
n_parameters = sum(p.numel() for p in model.parameters())
print(f"parameters: {n_parameters:,}")
print(
    f"loss before training {mean_loss(model, val_rows):.3f}, "
    f"uniform ln 27 = {uniform_loss(len(vocab)):.3f}"
)

# %%
# The mask makes the model causal and keeps names apart: changing the last letter of
# a name changes no logit at an earlier position, and changing a name changes none of
# the logits of the other names in its row.
with torch.no_grad(), eval_mode(model):
    emma, emmy = (model(torch.tensor([vocab.encode(name)]))[0] for name in (".emma", ".emmy"))
    shift = (emma - emmy).abs().amax(dim=1)
    tokens, _, positions, name_ids = (part[:1] for part in val_rows)  # the first row
    first_name = name_ids == name_ids[0, 0]
    others = ~first_name & (name_ids >= 0)
    changed = tokens.masked_fill(first_name & (positions > 0), vocab.encode("z")[0])
    unchanged = torch.equal(
        model(tokens, positions, name_ids)[others], model(changed, positions, name_ids)[others]
    )
print(f"largest logit change at each position of '.emma': {[round(x, 4) for x in shift.tolist()]}")
check((shift[:-1] == 0).all() and shift[-1] > 0, "only the last position's logits change")
check(unchanged, "changing a name leaves the logits of the other names in its row as they were")

# %%
# Training
# --------
# Each step takes the next ``ROWS_PER_BATCH`` rows of the packed training names, which
# are shuffled and packed again every epoch. AdamW decays the weight matrices of the
# linear layers toward zero, but not the embeddings, biases and layer norms. The
# one-cycle schedule warms the learning rate up, then anneals it; ``cycle_momentum=False``
# keeps it from also cycling AdamW's first beta. Gradients are clipped to a norm of
# ``CLIP_NORM``. Only the steps count toward the training time, and the predicted
# characters of every batch are counted; the training loss of the curves is measured
# on as many training rows as there are validation rows.
decayed = [m.weight for m in model.modules() if isinstance(m, nn.Linear)]
not_decayed = [p for p in model.parameters() if all(p is not w for w in decayed)]
optimizer = torch.optim.AdamW(
    [
        {"params": decayed, "weight_decay": WEIGHT_DECAY},
        {"params": not_decayed, "weight_decay": 0.0},
    ],
    lr=MAX_LEARNING_RATE,
    betas=(0.9, 0.99),
    fused=True,  # one kernel updates all parameters: many small tensors here
)
scheduler = torch.optim.lr_scheduler.OneCycleLR(
    optimizer, max_lr=MAX_LEARNING_RATE, total_steps=N_STEPS, pct_start=0.1, cycle_momentum=False
)
generator = torch.Generator().manual_seed(SEED)
train_rows, next_row = None, 0
eval_steps, train_curve, val_curve = [], [], []
training_seconds, training_predictions = 0.0, 0
for step in range(1, N_STEPS + 1):
    started = time.perf_counter()
    if train_rows is None or next_row + ROWS_PER_BATCH > len(train_rows[0]):
        order = torch.randperm(len(splits.train), generator=generator).tolist()
        train_rows, next_row = pack_names(splits.train, order, vocab, ROW_LENGTH), 0
    tokens, targets, positions, name_ids = (
        part[next_row : next_row + ROWS_PER_BATCH] for part in train_rows
    )
    next_row += ROWS_PER_BATCH
    training_predictions += int((targets != IGNORE_INDEX).sum())
    model.train()
    logits = model(tokens, positions, name_ids)
    loss = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=IGNORE_INDEX)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), CLIP_NORM)
    optimizer.step()
    scheduler.step()
    training_seconds += time.perf_counter() - started

    if step % EVAL_EVERY == 0:
        eval_steps.append(step)
        train_curve.append(mean_loss(model, tuple(p[: len(val_rows[0])] for p in train_rows)))
        val_curve.append(mean_loss(model, val_rows))
        print(
            f"step {step:5d}  train {train_curve[-1]:.4f}  val {val_curve[-1]:.4f}  "
            f"({training_seconds:.1f} s)"
        )

fig, ax = plt.subplots(figsize=(6, 3.8))
ax.plot(eval_steps, train_curve, marker="o", label="training names")
ax.plot(eval_steps, val_curve, marker="o", label="validation names")
ax.set(xlabel="step", ylabel="loss (nats per character)", title="loss in eval mode")
ax.grid(True, alpha=0.3)
ax.legend()
fig.tight_layout()
plt.show()

# %%
# What the heads attend to
# ------------------------
# ``scaled_dot_product_attention`` returns the mixture, not the weights. To see them,
# a *forward hook* on the last layer's ``qkv`` map keeps its output while the model
# reads, and the weights are computed from those queries and keys as on
# :doc:`plot_self_attention`, with the same mask. In the figure, each row of a panel
# is one position of the name, reading the characters up to it (the columns); each
# row sums to 1.


def last_layer_weights(tokens, positions, name_ids):
    """The last layer's attention weights, (rows, heads, length, length)."""
    captured = []
    hook = model.blocks[-1].attention.qkv.register_forward_hook(
        lambda module, inputs, output: captured.append(output)
    )
    with torch.no_grad(), eval_mode(model):
        model(tokens, positions, name_ids)
    hook.remove()
    rows, length = tokens.shape
    head_width = WIDTH // N_HEADS
    qkv = captured[0].view(rows, length, 3, N_HEADS, head_width)
    queries, keys, _ = qkv.permute(2, 0, 3, 1, 4)
    scores = queries @ keys.transpose(-2, -1) / math.sqrt(head_width)
    return scores.masked_fill(~same_name_causal_mask(name_ids), -math.inf).softmax(dim=-1)


one_name = torch.tensor([vocab.encode("." + NAME)])
positions = torch.arange(one_name.shape[1])[None]
weights = last_layer_weights(one_name, positions, torch.zeros_like(one_name))[0]
labels = list("." + NAME)
n_rows = math.ceil(N_HEADS / 3)
fig, axes = plt.subplots(n_rows, 3, figsize=(9, 3 * n_rows), squeeze=False)
for head, ax in enumerate(axes.flat):
    if head >= N_HEADS:
        ax.axis("off")
        continue
    ax.imshow(weights[head].numpy(), cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels)
    ax.set_yticks(range(len(labels)), labels)
    ax.set(title=f"head {head + 1}", xlabel="attended character")
for ax in axes[:, 0]:
    ax.set_ylabel("predicting after")
fig.suptitle(f"last layer's attention weights for {NAME!r}")
fig.tight_layout()
plt.show()

# %%
# One name is one example. Over all the validation names, the mean weight each head
# gives to the character just before a position, and to the boundary symbol that
# starts its name, counting the positions from the second letter on (at the first
# letter, the character before *is* the boundary). Attention spread evenly would give
# each of the :math:`p + 1` positions that position :math:`p` sees the weight
# :math:`1 / (p + 1)`; its mean is the first line.
tokens, _, positions, name_ids = val_rows
weights = last_layer_weights(tokens, positions, name_ids).transpose(0, 1)  # heads first
counted = (positions >= 2) & (name_ids >= 0)
on_previous = weights.diagonal(offset=-1, dim1=-2, dim2=-1)[:, counted[:, 1:]].mean(dim=1)
starts = torch.arange(ROW_LENGTH) - positions  # where each position's name begins
starts = starts[None, :, :, None].expand(N_HEADS, -1, -1, 1)
on_boundary = weights.gather(-1, starts).squeeze(-1)[:, counted].mean(dim=1)
even = (1 / (positions[counted] + 1)).mean()
print(f"even attention: {even:.2f} to each position seen")
for head, (previous, boundary) in enumerate(zip(on_previous, on_boundary, strict=True)):
    print(f"head {head + 1}: previous character {previous:.2f}, boundary {boundary:.2f}")

# %%
# Trained, the heads give the character just before a position more weight, on average
# over the heads, than even attention would. That is context a bigram table lacks: the
# bigram models of this section see only the last character read, which here reaches
# each position without attention, through its own embedding. No head does only that,
# though: each gives less than half its weight to the previous character, and spends the
# rest on the boundary symbol and the other characters of the name.
check(
    on_previous.mean() > even and (on_previous < 0.5).all(),
    "the heads' mean weight on the previous character is above the even share, and no "
    "head gives it half",
)

# %%
# Sampling with a temperature
# ---------------------------
# A name grows one character at a time, each drawn from the model's prediction after
# the characters so far, until the model draws the boundary symbol or the name fills
# the model's positions (:func:`~pytorch_examples.language.draw_names`). Dividing the
# logits by a temperature before the softmax sharpens the distribution below 1 and
# flattens it above 1. A sharper distribution repeats more of what the model saw,
# which the share of samples that are training names shows. The sampler can also start
# every name with given letters: the last line gives it the prefix ``zo`` and lets the
# model draw the rest, at temperature 1.
generator = torch.Generator().manual_seed(SEED)
known = set(splits.train)
copied = []
for temperature in TEMPERATURES:
    names = draw_names(
        model,
        vocab,
        N_COUNTED,
        generator=generator,
        temperature=temperature,
        max_length=BLOCK_SIZE - 1,
    )
    copied.append(sum(name in known for name in names) / N_COUNTED)
    print(f"temperature {temperature}: {copied[-1]:.0%} of {N_COUNTED} are training names")
    print(f"    {', '.join(names[:N_SAMPLES])}")
zo_names = draw_names(model, vocab, 6, generator=generator, prefix="zo", max_length=BLOCK_SIZE - 1)
print(f"starting with 'zo': {', '.join(zo_names)}")
check(
    copied[0] > copied[1] > copied[2],
    "the lower the temperature, the more samples are training names",
)

# %%
# Final scores
# ------------
# The sizes, the learning rate and the number of steps were set by hand by the
# authors of this page, from validation runs that the page does not show. The test
# names played no part, and are scored once, here. The record keeps the loss of each
# validation prediction, with the number of letters before it, for
# :doc:`plot_language_models_compared`.
val_losses = prediction_losses(model, val_rows[:1] + val_rows[2:], val_rows[1])
val_loss = val_losses.double().mean().item()
test_loss = mean_loss(model, test_rows)
print(f"parameters: {n_parameters:,}")
print(f"training time: {training_seconds:.1f} s for {N_STEPS} steps")
print(f"validation loss: {val_loss:.3f}")
print(f"test loss: {test_loss:.3f}")
record_result(
    "plot_transformer",
    val_loss=val_loss,
    test_loss=test_loss,
    parameters=n_parameters,
    training_seconds=training_seconds,
    steps=N_STEPS,
    training_predictions=training_predictions,
    val_losses=val_losses.tolist(),
    val_positions=val_rows[2][val_rows[1] != IGNORE_INDEX].tolist(),
)
