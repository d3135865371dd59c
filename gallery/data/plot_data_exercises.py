r"""
Exercises: real data in
=======================

Five exercises on this section's pages, from a single line to a function you write
whole. Each leaves a function blank: its body is ``raise NotImplementedError``, and the
comment above it says what to write. Replace that line with your code and run the
cell below it, which checks your function on inputs you have not seen (small tensors
and pandas tables of its own; nothing is downloaded) and prints one line: ``passed``,
``not done yet``, or what went wrong (the input, the value expected, the value your
function returned, and often the mistake that gives that value).

Stuck? ``ex.NAME.hint()`` prints a hint; on the site, the *Hint* and *Solution* boxes
below each check open when clicked. Try first: the check tells you more than the
solution does.
"""

# %%
# Setup
# -----
import pandas as pd
import torch
from torch.utils.data import DataLoader

from pytorch_examples.exercises import data as ex

PAD = 0  # the index that pads a sequence; real tokens are 1 and above

# %%
# 1. A loader whose order a seed fixes
# ------------------------------------
# *Practises* :doc:`the DataLoader's randomness <plot_dataset_dataloader>`. Return a
# ``DataLoader`` over ``dataset`` that shuffles it into batches of ``batch_size``, in an
# order that ``seed`` alone decides: the check draws other random numbers between
# making the loader and reading it, as the rest of a program would, and the order
# must not change. Each pass over the loader (each epoch) must reshuffle.


def seeded_loader(dataset, batch_size: int, seed: int) -> DataLoader:
    # Return a shuffling DataLoader whose order depends on seed and nothing else.
    raise NotImplementedError


# %%
ex.seeded_loader.check(seeded_loader)

# %%
# .. exercise:: data.seeded_loader

# %%
# 2. Standardize with the training rows
# -------------------------------------
# *Practises* :doc:`standardizing with training statistics only
# <plot_pandas_penguins>`. Return a copy of ``table`` in which each column named in
# ``columns`` has the training rows' mean of that column subtracted and is divided by
# their standard deviation. Other columns, the column order and the index stay as they
# are, and the caller's ``table`` must not change.


def standardize_columns(train: pd.DataFrame, table: pd.DataFrame, columns: list) -> pd.DataFrame:
    # Return a copy of table with `columns` standardized by train's mean and std.
    raise NotImplementedError


# %%
ex.standardize_columns.check(standardize_columns)

# %%
# .. exercise:: data.standardize_columns

# %%
# 3. One-hot columns with an "other" bucket
# -----------------------------------------
# *Practises* :doc:`one-hot columns in a fixed order <plot_pandas_penguins>`, for a
# model that must accept values training never saw. Return a ``float32`` tensor with
# one row per value and one column per entry of ``categories``, in that order,
# whichever categories the values happen to hold, then one last column, *other*, for
# values not in ``categories``. A missing value (``None``) is the documented
# *unknown*: a row of zeros, as on the penguins page; an unseen value is present, so
# it is not missing: it gets a 1 in *other*.


def one_hot(values: pd.Series, categories: list) -> torch.Tensor:
    # Return the (len(values), len(categories) + 1) float32 one-hot matrix, "other" last.
    raise NotImplementedError


# %%
ex.one_hot.check(one_hot)

# %%
# .. exercise:: data.one_hot

# %%
# 4. A collate function that pads
# -------------------------------
# *Practises* the ``DataLoader``'s batching (:doc:`plot_dataset_dataloader`) on
# sequences of different lengths, the problem the language section's
# :doc:`recurrent network </auto_examples/language/plot_recurrent_network>` meets.
# ``batch`` is a list of ``(sequence, label)`` pairs, each sequence an ``int64``
# tensor of its own length. Return ``(padded, lengths, labels)``: the sequences padded
# at the end with ``PAD`` to the longest one in this batch, their lengths before
# padding, and the labels, all ``int64`` tensors (a tuple or a list of the three). The
# check also passes your function to a ``DataLoader`` as ``collate_fn``.


def pad_collate(batch: list) -> tuple:
    # Return (padded, lengths, labels) for a list of (sequence, label) pairs.
    raise NotImplementedError


# %%
ex.pad_collate.check(pad_collate)

# %%
# .. exercise:: data.pad_collate

# %%
# 5. A stratified split
# ---------------------
# *Practises* :doc:`splitting before any statistic <plot_pandas_penguins>`, for data
# whose classes differ in size. Return ``(train_indices, val_indices)``: every index of
# ``labels`` in exactly one of them, and each class's share of validation examples
# equal to ``fraction`` (rounded to a whole number of examples), the examples of a
# class chosen at random with ``generator``. A plain random split gets a rare class's
# share only roughly right.


def stratified_split(labels: torch.Tensor, fraction: float, generator: torch.Generator) -> tuple:
    # Return (train_indices, val_indices), split class by class at random.
    raise NotImplementedError


# %%
ex.stratified_split.check(stratified_split)

# %%
# .. exercise:: data.stratified_split
