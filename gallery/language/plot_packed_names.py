r"""
Names packed into rows
======================

:doc:`plot_self_attention` attended over one name. A transformer trains on a batch of
many, and names differ in length. The recurrent network of
:doc:`plot_recurrent_network` padded every name of a batch to the longest one and
spent computation on padded positions that the loss then ignored. This page lays the
names one after another in fixed rows instead, and changes the causal mask so that a
name never attends to its neighbours. Nothing is trained: :doc:`plot_transformer`
trains a small GPT on these rows. You will learn:

* how whole names are packed into rows, with each position's place in its own name;
* how much padding that saves against batches padded to their longest name;
* how a mask that is causal *and* keeps names apart makes attention over a packed
  row equal to attention over each name alone.
"""

# %%
# Packing
# -------
# Each name is the input ``.name`` with the target ``name.``: the model predicts every
# character and the end of the name, each from the characters before it. A row of
# ``ROW_LENGTH`` positions holds as many whole names as fit, and only the end of the
# row is padded, with the target :data:`~pytorch_examples.language.IGNORE_INDEX` that
# the loss leaves out. Each position also carries its place within its own name (the
# position the model sees) and the index of its name (-1 at padding), so that
# attention can keep the names apart. The library's
# :func:`~pytorch_examples.language.pack_names` does this; its source is linked from its
# documentation.
import torch
from torch.nn import functional as F

from pytorch_examples.claims import check
from pytorch_examples.data.names import CharVocabulary, context_pairs, load_names, split_names
from pytorch_examples.language import IGNORE_INDEX, pack_names, same_name_causal_mask

SEED = 42
ROW_LENGTH = 32  # positions of a row of a batch, as on the GPT page
RNN_BATCH_SIZE = 256  # names per training step of the recurrent network
N_RANDOM_BATCHES = 1000  # random batches of padded names measured
HEAD_WIDTH = 8  # numbers per position in the attention check

torch.manual_seed(SEED)
vocab = CharVocabulary()
splits = split_names(load_names(), seed=SEED)
val_rows = pack_names(splits.val, range(len(splits.val)), vocab, ROW_LENGTH)
tokens, targets, positions, name_ids = (part[0] for part in val_rows)
print(f"{len(splits.val)} validation names in {len(val_rows[0])} rows of {ROW_LENGTH}")
print(f"tokens    {vocab.decode(tokens)!r}\ntargets   {vocab.decode(targets.clamp(min=0))!r}")
print(f"positions {positions.tolist()}\nname ids  {name_ids.tolist()}")
n_val_predicted = int((val_rows[1] != IGNORE_INDEX).sum())
check(
    n_val_predicted == len(context_pairs(splits.val, vocab, 1)[1]),
    f"the validation rows hold {n_val_predicted} predicted characters, as many as the "
    "MLP page's validation pairs",
)

# %%
# How much padding that saves
# ---------------------------
# A batch of the recurrent network is ``RNN_BATCH_SIZE`` training names drawn at
# random and padded to the longest of them. Measured over ``N_RANDOM_BATCHES`` such
# batches, that wastes a larger share of the positions than packed rows do. (The
# batches are of training names, as the recurrent network's are; the packed rows are
# the validation rows built above.)
lengths = torch.tensor([len(name) + 1 for name in splits.train])
padded = lengths[torch.randint(len(lengths), (N_RANDOM_BATCHES, RNN_BATCH_SIZE))]
padded_share = 1 - padded.sum() / (padded.amax(dim=1).sum() * RNN_BATCH_SIZE)
packed_share = (val_rows[1] == IGNORE_INDEX).float().mean()
print(
    f"padded positions: {padded_share:.0%} in random batches of {RNN_BATCH_SIZE} names "
    f"padded to the longest, {packed_share:.0%} in packed rows"
)
check(
    packed_share < padded_share / 2,
    "packed rows pad less than half as large a share of positions as padded batches",
)

# %%
# Attention that keeps names apart
# --------------------------------
# The causal mask of :doc:`plot_self_attention` lets position :math:`i` attend to
# every :math:`j \le i`. In a packed row that would let a name read the names before
# it. :func:`~pytorch_examples.language.same_name_causal_mask` allows :math:`j` only if
# it comes no later *and* belongs to the same name; padding counts as one more name,
# so that every position sees at least itself and no softmax row is empty. For the
# first row's first positions (1 = may attend):
print(same_name_causal_mask(name_ids[None])[0, 0, :10, :10].int())

# %%
# With this mask, attention over the whole packed row gives every name what attention
# over that name alone gives, up to float rounding, whatever the queries, keys and values: here
# random ones, through :func:`~torch.nn.functional.scaled_dot_product_attention`, the
# call the GPT makes.
queries, keys, values = torch.randn(3, 1, 1, ROW_LENGTH, HEAD_WIDTH)
packed = F.scaled_dot_product_attention(
    queries, keys, values, attn_mask=same_name_causal_mask(name_ids[None])
)[0, 0]
largest = 0.0
for name_id in name_ids.unique()[name_ids.unique() >= 0].tolist():
    where = name_ids == name_id
    alone = F.scaled_dot_product_attention(
        queries[..., where, :], keys[..., where, :], values[..., where, :], is_causal=True
    )[0, 0]
    largest = max(largest, (packed[where] - alone).abs().max().item())
print(f"largest difference, packed row against each name alone: {largest:.1e}")
check(largest < 1e-6, "attention over the packed row equals attention over each name alone")
