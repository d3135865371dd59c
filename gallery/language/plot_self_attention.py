r"""
Self-attention, written out
===========================

The recurrent network carries what it has read in one state vector, updated one
character at a time. *Self-attention*, the mechanism of the transformer (Vaswani et
al., 2017), lets each position look back at every earlier position directly and take,
with weights it computes, a mixture of what they hold. This page writes it out with a
few tensor operations on one name, and checks the result against PyTorch. You will
learn:

* what queries, keys and values are, and how their dot products become attention
  weights;
* why the dot products are divided by the square root of their length;
* how a causal mask keeps each position from seeing the characters it must predict;
* how several heads attend side by side. The one-head result is checked equal to
  :func:`~torch.nn.functional.scaled_dot_product_attention`, the several-head one to
  :class:`~torch.nn.MultiheadAttention`.

The weights here are random: the point is the mechanics. :doc:`plot_packed_names`
lays names out for training, and :doc:`plot_transformer` builds a small GPT from these
pieces and trains it.
"""

# %%
# One name as vectors
# -------------------
# As on the other pages of this section, a name is read after the boundary symbol
# ``.``; an embedding turns each of its characters into ``WIDTH`` numbers. Position
# :math:`i` of the name is row :math:`i` of ``x``.
import math

import matplotlib.pyplot as plt
import torch
from torch import nn
from torch.nn import functional as F

from pytorch_examples.claims import check
from pytorch_examples.data.names import CharVocabulary
from pytorch_examples.reporting import format_table

# sphinx_gallery_cited_numbers = {"2017": "year of the cited paper"}

SEED = 0
NAME = "isabella"
WIDTH = 16  # numbers per position
N_HEADS = 4
N_PAIRS = 10_000  # pairs of random vectors for the spread of their dot products
HEAD_WIDTHS = (4, 16, 64, 256)  # lengths of query and key vectors compared

torch.manual_seed(SEED)
vocab = CharVocabulary()
tokens = torch.tensor(vocab.encode("." + NAME))
labels = list("." + NAME)
length = len(tokens)
with torch.no_grad():
    x = nn.Embedding(len(vocab), WIDTH)(tokens)
print(f"{'.' + NAME!r}: {length} positions of {WIDTH} numbers, x {tuple(x.shape)}")

# %%
# Queries, keys and values
# ------------------------
# Three linear maps turn each position's vector into a *query* (what it looks for), a
# *key* (what it offers to a query) and a *value* (what it passes on). Position
# :math:`i` scores position :math:`j` by the dot product of its query with that key,
# and the softmax of its scores gives the weights of the mixture of values it
# receives:
#
# .. math::
#
#    w_{ij} = \frac{\exp(s_{ij})}{\sum_{j'} \exp(s_{ij'})}, \qquad
#    s_{ij} = \frac{q_i \cdot k_j}{\sqrt{d}}, \qquad
#    \text{output}_i = \sum_j w_{ij} v_j,
#
# with :math:`d` the length of a query. All the scores of all the positions are one
# matrix product, ``q @ k.T``.
to_query, to_key, to_value = (nn.Linear(WIDTH, WIDTH, bias=False) for _ in range(3))
with torch.no_grad():
    q, k, v = to_query(x), to_key(x), to_value(x)
scores = q @ k.T / math.sqrt(WIDTH)  # (length, length): row i holds s_i0 ... s_i,length-1
print(f"queries, keys, values {tuple(q.shape)}; scores {tuple(scores.shape)}")

# %%
# Why divide by the square root of d
# ----------------------------------
# If the numbers of a query and a key are independent with mean 0 and variance 1,
# each of the :math:`d` products in their dot product has variance 1, so the sum has
# variance :math:`d` and spread :math:`\sqrt{d}`. Unscaled, wide heads would feed
# the softmax scores that differ by tens, and it would put nearly all the weight on
# one position, where its gradient is nearly zero. Divided by :math:`\sqrt{d}`, the
# scores keep a spread near 1 whatever the width. The random dot products are cut into
# rows of ``length`` scores, as in one row of attention, and the table gives the
# largest softmax weight of a row, averaged over the rows:
print(f"{N_PAIRS // length} rows of {length} scores; mean over the rows of the largest weight")
largest, table_rows = {}, []
for d in HEAD_WIDTHS:
    dots = (torch.randn(N_PAIRS, d) * torch.randn(N_PAIRS, d)).sum(dim=1)
    rows = dots[: N_PAIRS // length * length].view(-1, length)  # rows of `length` scores
    largest[d] = [r.softmax(dim=1).amax(dim=1).mean().item() for r in (rows, rows / d**0.5)]
    table_rows.append((d, f"{dots.std():.1f}", f"{(dots / d**0.5).std():.2f}", *largest[d]))
headers = ["d", "spread of q.k", "of q.k/sqrt(d)", "largest weight, unscaled", "scaled"]
print(format_table(headers, table_rows, digits=2))
check(
    largest[HEAD_WIDTHS[-1]][0] > 0.9 and all(scaled < 0.5 for _, scaled in largest.values()),
    f"averaged over rows of {length} scores, the largest weight is over 0.9 unscaled at the "
    "widest head, and under half scaled at every width",
)

# %%
# The causal mask
# ---------------
# A language model predicts each next character from the ones before it, so position
# :math:`i` must not see positions after it: one of them *is* the character it
# predicts. Setting those scores to :math:`-\infty` before the softmax gives them
# weight exactly 0, and the remaining weights still sum to 1.
causal = torch.ones(length, length, dtype=torch.bool).tril()  # True: may attend
weights = scores.masked_fill(~causal, float("-inf")).softmax(dim=-1)
output = weights @ v
print(f"row sums {weights.sum(dim=1).round(decimals=6).tolist()}")
# PyTorch's fused function takes the mask as is_causal=True, or as a boolean attn_mask
# that marks with True the pairs that *may* attend, as ``causal`` does.
difference = max(
    (output - F.scaled_dot_product_attention(q, k, v, is_causal=True)).abs().max(),
    (output - F.scaled_dot_product_attention(q, k, v, attn_mask=causal)).abs().max(),
)
print(f"largest difference from scaled_dot_product_attention: {difference:.1e}")
check(
    (weights.triu(diagonal=1) == 0).all() and torch.allclose(weights.sum(dim=1), torch.ones(1)),
    "the weights above the diagonal are 0 and every row sums to 1",
)
check(difference < 1e-6, "the written-out causal attention equals scaled_dot_product_attention")

# %%
# Several heads
# -------------
# One softmax gives one mixture per position. *Multi-head* attention splits the
# ``WIDTH`` numbers of each query, key and value into ``N_HEADS`` groups that attend
# separately, each with its own scores, so one head can follow the previous
# character while another looks further back. A final linear map mixes the heads'
# outputs. Reshaping does the splitting; no loop over heads is needed.


def multi_head_attention(x, to_qkv, mix, n_heads, allowed):
    """Causal self-attention of the rows of ``x`` with ``n_heads`` heads.

    ``to_qkv`` maps each row to its query, key and value, side by side; ``allowed``
    says which positions each position may see. Returns the output and the weights,
    (n_heads, length, length).
    """
    length, width = x.shape
    head_width = width // n_heads
    # (length, width) -> (n_heads, length, head_width), for each of q, k, v
    q, k, v = (
        t.view(length, n_heads, head_width).transpose(0, 1) for t in to_qkv(x).chunk(3, dim=1)
    )
    scores = q @ k.transpose(1, 2) / math.sqrt(head_width)
    weights = scores.masked_fill(~allowed, float("-inf")).softmax(dim=-1)
    heads = weights @ v  # (n_heads, length, head_width)
    return mix(heads.transpose(0, 1).reshape(length, width)), weights


# %%
# PyTorch's :class:`~torch.nn.MultiheadAttention` holds the same two linear maps:
# ``in_proj_weight`` stacks the query, key and value weights, and ``out_proj`` mixes
# the heads. Its mask has the opposite meaning: ``True`` marks a pair that may *not*
# attend. With its weights, the written-out version gives its outputs and its
# per-head attention weights.
attention = nn.MultiheadAttention(WIDTH, N_HEADS, batch_first=True)
to_qkv = nn.Linear(WIDTH, 3 * WIDTH)
with torch.no_grad():
    to_qkv.weight.copy_(attention.in_proj_weight)
    to_qkv.bias.copy_(attention.in_proj_bias)
    ours, our_weights = multi_head_attention(x, to_qkv, attention.out_proj, N_HEADS, causal)
    theirs, their_weights = attention(
        x[None], x[None], x[None], attn_mask=~causal, average_attn_weights=False
    )
differences = [(ours - theirs[0]).abs().max(), (our_weights - their_weights[0]).abs().max()]
print(f"largest differences: outputs {differences[0]:.1e}, weights {differences[1]:.1e}")
check(
    max(differences) < 1e-6,
    "the written-out multi-head attention gives nn.MultiheadAttention's outputs and weights",
)

# %%
# The weights of the four heads for the name: row :math:`i` is the position that
# attends, the columns the positions it sees. Everything above the diagonal is 0, and
# the first position can only attend to itself. With random weights the heads spread
# their attention without a purpose; :doc:`plot_transformer` trains them and measures
# where they look.
fig, axes = plt.subplots(1, N_HEADS, figsize=(3 * N_HEADS, 3.8))
for head, ax in enumerate(axes):
    ax.imshow(our_weights[head].numpy(), cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(length), labels)
    ax.set_yticks(range(length), labels)
    ax.set(title=f"head {head + 1}", xlabel="attended position")
axes[0].set_ylabel("attending position")
fig.suptitle("attention weights of a random layer")
fig.tight_layout()
plt.show()
