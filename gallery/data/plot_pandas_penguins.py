r"""
From a pandas table to a trained classifier
===========================================

Real data rarely arrives as a tensor. The Palmer penguins table holds measurements of
penguins of three species, the island each was seen on and its sex, with some values
missing. This page takes it from a pandas ``DataFrame`` to a trained species
classifier. You will learn:

* why the split into training, validation and test rows comes before any statistic;
* how to decide between dropping and imputing missing values;
* how to one-hot encode categories into a fixed column order (``pd.get_dummies`` on
  each split alone does not), standardize with training statistics only, and make
  tensors of the right dtypes;
* how to reject bad input (an unseen category, a missing column) with a clear error;
* how to choose between two classifiers whose validation scores are within noise.

The data was collected by Kristen Gorman at Palmer Station, Antarctica, and is
released under CC0; the ``palmerpenguins`` package ships it, so this page runs offline.
"""

# %%
# Load, then split first
# ----------------------
# Every statistic used to prepare the data (a mean, a standard deviation, the list of
# categories) is part of the model: it must come from the training rows alone, or the
# validation and test scores measure a model that has peeked at them. So the rows are
# split at random right after loading, and even the summaries we only look at are
# computed on the training rows.
import copy
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from palmerpenguins import load_penguins
from torch import nn
from torch.nn import functional as F

from pytorch_examples.claims import check
from pytorch_examples.comparison import accuracy_difference, paired_difference
from pytorch_examples.data.splits import split_indices
from pytorch_examples.evaluation import confusion_matrix, eval_mode, evaluate
from pytorch_examples.plotting import plot_confusion_matrix
from pytorch_examples.reporting import format_table

SEED = 0
FRACTIONS = (0.6, 0.2, 0.2)  # training, validation, test
TARGET = "species"
NUMERIC = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
CATEGORICAL = ["island", "sex"]
HIDDEN_UNITS = {"softmax regression": 0, "MLP": 16}  # the candidates validation picks from
MAX_EPOCHS = 3000  # a cap that early stopping should never reach
PATIENCE = 20  # epochs without a new lowest validation loss before training stops
LEARNING_RATE = 0.02

torch.manual_seed(SEED)
penguins = load_penguins()
print(f"{len(penguins)} rows, columns {list(penguins.columns)}")
print(penguins.head().to_string())

parts = split_indices(len(penguins), FRACTIONS, seed=SEED)
train_rows, val_rows, test_rows = (penguins.iloc[part.numpy()] for part in parts)
print(f"training {len(train_rows)}, validation {len(val_rows)}, test {len(test_rows)} rows")

# %%
# A look at the training rows
# ---------------------------
# ``describe`` summarizes each numeric column and ``isna().sum()`` counts the missing
# values. The ``year`` of observation is not used as a feature: it says when a penguin
# was measured, not what it is.
print(train_rows[NUMERIC].describe().round(1).to_string())
print(train_rows.isna().sum().to_string())

fig, ax = plt.subplots(figsize=(6, 4.5))
for species, rows in train_rows.groupby(TARGET):
    ax.scatter(rows["bill_length_mm"], rows["bill_depth_mm"], s=14, label=species)
ax.set(xlabel="bill length (mm)", ylabel="bill depth (mm)", title="training rows")
ax.legend(title=TARGET)
plt.show()

# %%
# The species form three clouds in just two of the measurements, so a small model
# should do well; the work on this page is getting the table in.
#
# Missing values: drop or impute?
# -------------------------------
# Two kinds of gap appear, and they get different answers:
#
# * A penguin with **no measurements** is dropped. Imputing would replace its four
#   numbers by training means: an average penguin, labelled with some species, that
#   teaches the model nothing true. The rule looks at one row at a time, so it needs no
#   statistic and applies the same way to every split and to new data.
# * A penguin with its measurements but **no recorded sex** is kept. Dropping it throws
#   good measurements away; imputing the more common sex would be a guess stated as a
#   fact. Its sex is encoded as *unknown* instead: both sex columns are zero.
measured = train_rows[NUMERIC].notna()
print(f"training rows without measurements: {(~measured.any(axis=1)).sum()}")
check(
    (measured.all(axis=1) | ~measured.any(axis=1)).all(),
    "each training penguin has all four measurements or none",
)
train_rows, val_rows, test_rows = (
    rows[rows[NUMERIC].notna().all(axis=1)] for rows in (train_rows, val_rows, test_rows)
)
print(f"kept: training {len(train_rows)}, validation {len(val_rows)}, test {len(test_rows)}")

# %%
# One-hot columns in a fixed order
# --------------------------------
# ``pd.get_dummies`` makes one column per category *it sees*. On a subset that lacks a
# category it makes fewer columns, and a model that reads its inputs by position then
# reads the wrong ones without any error. The columns for the training rows, and for
# the validation penguins from one island:
dream = val_rows[val_rows["island"] == "Dream"]
print(list(pd.get_dummies(train_rows[CATEGORICAL]).columns))
print(list(pd.get_dummies(dream[CATEGORICAL]).columns))

# %%
# The fix is to learn the categories once, from the training rows, and to encode every
# later table against that list. The class below does that and the standardization:
# ``fit`` reads only the rows it is given, and ``transform`` uses only what ``fit``
# stored, so each encoded row depends on its own input row alone. It refuses what it
# cannot encode faithfully: a missing column, a missing measurement, a category never
# seen in training. A missing category value is the documented *unknown*: all zeros.


@dataclass(frozen=True)
class Preprocessor:
    """Training statistics, and the encoding of any table of penguins with them."""

    mean: pd.Series
    std: pd.Series
    categories: dict[str, list[str]]

    @classmethod
    def fit(cls, rows: pd.DataFrame) -> "Preprocessor":
        """Learn the means, standard deviations and categories of ``rows``."""
        require_columns(rows, NUMERIC + CATEGORICAL)
        categories = {column: sorted(rows[column].dropna().unique()) for column in CATEGORICAL}
        return cls(rows[NUMERIC].mean(), rows[NUMERIC].std(), categories)

    @property
    def columns(self) -> list[str]:
        """The encoded columns' names, in the tensor's column order."""
        return NUMERIC + [f"{c}_{v}" for c in CATEGORICAL for v in self.categories[c]]

    def transform(self, rows: pd.DataFrame) -> torch.Tensor:
        """Encode ``rows`` as float32, one column per name in :attr:`columns`."""
        require_columns(rows, NUMERIC + CATEGORICAL)
        unmeasured = rows.index[rows[NUMERIC].isna().any(axis=1)]
        if len(unmeasured):
            raise ValueError(f"rows {list(unmeasured)} lack measurements: drop them first")
        parts = [((rows[NUMERIC] - self.mean) / self.std).to_numpy(dtype=np.float32)]
        for column in CATEGORICAL:
            known = self.categories[column]
            unseen = sorted(set(rows[column].dropna()) - set(known))
            if unseen:
                raise ValueError(f"{column} {unseen} never seen in training (known: {known})")
            # Categorical with the training categories: same columns, same order, always.
            codes = pd.Categorical(rows[column], categories=known)
            parts.append(pd.get_dummies(codes).to_numpy(dtype=np.float32))
        return torch.from_numpy(np.hstack(parts))


def require_columns(rows: pd.DataFrame, names: list[str]) -> None:
    """Raise a ``KeyError`` that names every column of ``names`` missing from ``rows``."""
    missing = [name for name in names if name not in rows.columns]
    if missing:
        raise KeyError(f"missing columns {missing}; the table has {list(rows.columns)}")


def encode_species(rows: pd.DataFrame, classes: list[str]) -> torch.Tensor:
    """Class indices (int64) of the rows' species; an unknown species is an error."""
    require_columns(rows, [TARGET])
    unknown = rows.index[~rows[TARGET].isin(classes)]
    if len(unknown):
        raise ValueError(f"unknown or missing {TARGET} in rows {list(unknown)}")
    return torch.from_numpy(
        pd.Categorical(rows[TARGET], categories=classes).codes.astype(np.int64)
    )


preprocessor = Preprocessor.fit(train_rows)
species_names = sorted(train_rows[TARGET].unique())
splits = (train_rows, val_rows, test_rows)
x_train, x_val, x_test = (preprocessor.transform(rows) for rows in splits)
y_train, y_val, y_test = (encode_species(rows, species_names) for rows in splits)
print(f"columns: {preprocessor.columns}")
print(f"x_train {tuple(x_train.shape)} {x_train.dtype}, y_train {y_train.dtype}")

# %%
# The Dream penguins now get every column, in the training order, and so does a table
# whose columns come in another order; the standardized training columns have mean 0
# and standard deviation 1, while the validation columns, scaled with the training
# statistics, only come close.
from_dream = torch.tensor(val_rows["island"].eq("Dream").to_numpy())
check(
    preprocessor.transform(dream).shape[1] == len(preprocessor.columns)
    and torch.equal(preprocessor.transform(dream), x_val[from_dream])
    and torch.equal(preprocessor.transform(val_rows[val_rows.columns[::-1]]), x_val),
    "a subset and a reordered table get the training columns in the training order",
)
numeric = {"training": x_train[:, :4], "validation": x_val[:, :4]}
moments = {f"{k} {m}": getattr(x, m)(0) for k, x in numeric.items() for m in ("mean", "std")}
print(pd.DataFrame(moments, index=NUMERIC).round(3).to_string())

# %%
# Bad input, and the documented *unknown*
# ---------------------------------------
# An island the model never saw, and a table without the ``sex`` column, stop with an
# error that says what is wrong; a penguin of unrecorded sex is encoded with zeros in
# both sex columns.
bad_tables = {
    "unseen island": val_rows.head(2).assign(island="Anvers"),
    "missing column": val_rows.head(2).drop(columns="sex"),
}
rejected = []
for name, table in bad_tables.items():
    try:
        preprocessor.transform(table)
    except (KeyError, ValueError) as error:
        rejected.append(name)
        print(f"{name}: {type(error).__name__}: {error}")
check(rejected == list(bad_tables), "both bad tables are rejected with an error")
unknown_sex = train_rows[train_rows["sex"].isna()].head(1)
encoded = pd.DataFrame(preprocessor.transform(unknown_sex), columns=preprocessor.columns)
print(encoded.round(2).to_string())
check(
    (encoded[["sex_female", "sex_male"]] == 0).all(axis=None),
    "a penguin of unrecorded sex gets zeros in both sex columns",
)

# %%
# A classifier, chosen on validation
# ----------------------------------
# Two candidates: softmax regression (one linear layer) and an MLP with one hidden
# layer. With so few rows every step uses all of them (full-batch gradient descent,
# with Adam). Validation makes both choices. Each candidate keeps the weights of its
# lowest validation loss and stops once ``PATIENCE`` epochs in a row have not lowered
# it, so it trains as long as its own validation loss asks. Of the two, a rule fixed
# in the code before this run keeps the one with the lower validation loss if it
# is lower by more than the noise; within noise, the choice is a toss-up, and the
# simpler candidate, softmax regression, is kept. The test rows stay unused.


def make_model(hidden_units: int) -> nn.Module:
    """Softmax regression when ``hidden_units`` is 0, else an MLP with one hidden layer."""
    n_in, n_out = x_train.shape[1], len(species_names)
    if hidden_units == 0:
        return nn.Linear(n_in, n_out)
    return nn.Sequential(nn.Linear(n_in, hidden_units), nn.ReLU(), nn.Linear(hidden_units, n_out))


models, val_curves, best_epoch = {}, {}, {}
for name, hidden_units in HIDDEN_UNITS.items():
    model = models[name] = make_model(hidden_units)
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    val_curves[name] = []
    for epoch in range(1, MAX_EPOCHS + 1):
        loss = F.cross_entropy(model(x_train), y_train)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        val_curves[name].append(evaluate(model, x_val, y_val).loss)
        if val_curves[name][-1] <= min(val_curves[name]):
            best_epoch[name], best_weights = epoch, copy.deepcopy(model.state_dict())
        if epoch - best_epoch[name] == PATIENCE:
            break
    model.load_state_dict(best_weights)  # the weights of the best validation epoch
check(
    all(len(curve) < MAX_EPOCHS for curve in val_curves.values()),
    "both candidates stopped because their validation loss stopped improving, before the limit",
)

majority = y_train.bincount().argmax()
baseline_val = (y_val == majority).float().mean().item()
scores = {name: evaluate(model, x_val, y_val) for name, model in models.items()}
rows = [[name, best_epoch[name], s.loss, s.accuracy] for name, s in scores.items()]
rows.append([f"always {species_names[majority]}", "-", "-", baseline_val])
print(format_table(["model", "best epoch", "validation loss", "validation accuracy"], rows))

fig, ax = plt.subplots(figsize=(6, 3.5))
for name, curve in val_curves.items():
    line = ax.plot(range(1, len(curve) + 1), curve, label=name)[0]
    ax.plot(best_epoch[name], min(curve), "o", color=line.get_color())
ax.set(xlabel="epoch", ylabel="validation cross-entropy", xscale="log", yscale="log")
ax.set_title("validation loss; dots mark the kept epochs")
ax.legend()
ax.grid(True, alpha=0.3)
fig.tight_layout()
plt.show()
check(
    best_epoch["MLP"] < best_epoch["softmax regression"]
    and scores["MLP"].loss < scores["softmax regression"].loss,
    "the MLP reaches its lowest validation loss in fewer epochs, and a lower one",
)

# %%
# Each curve ends ``PATIENCE`` epochs after its dot: validation, not an epoch budget,
# stopped both. The MLP gets lower, sooner. Whether lower by more than chance, the
# paired comparison of :mod:`pytorch_examples.comparison` says: it takes the two losses
# penguin by penguin, and for accuracy counts only the penguins exactly one of the two
# classifies right.
val_losses = {}
for name, model in models.items():  # not evaluate(): it returns the mean, not each loss
    with torch.no_grad(), eval_mode(model):
        val_losses[name] = F.cross_entropy(model(x_val), y_val, reduction="none")
loss_gap = paired_difference(val_losses["MLP"], val_losses["softmax regression"])
predicted = {name: score.predictions for name, score in scores.items()}
accuracy_gap = accuracy_difference(predicted["MLP"], predicted["softmax regression"], y_val)
print("loss:    ", loss_gap.describe("MLP", "softmax regression"))
print("accuracy:", accuracy_gap.describe("MLP", "softmax regression"))
check(
    loss_gap.within_noise() and accuracy_gap.within_noise(),
    "the MLP's lower validation loss is within noise, and so is the accuracy difference",
)
if loss_gap.within_noise():  # a toss-up: keep the simpler candidate
    chosen = min(HIDDEN_UNITS, key=HIDDEN_UNITS.get)
else:
    chosen = "MLP" if loss_gap.a_lower() else "softmax regression"
print(f"chosen: {chosen}")
check(
    scores[chosen].accuracy > baseline_val,
    "the chosen model is more accurate on validation than the majority-class guess",
)

# %%
# The MLP's validation loss is the lower, but within the noise of these few validation
# penguins, and so is the accuracy difference: a toss-up, which the rule breaks in
# favour of the simpler softmax regression. (The standard errors count the noise of
# the validation rows only, not that of training again from other random weights.)
#
# The test set, once
# ------------------
# The chosen model and the majority-class guess are scored on the test rows, for the
# first and only time. Row *i* of the confusion matrix counts how the test penguins of
# species *i* were classified.
test = evaluate(models[chosen], x_test, y_test)
baseline_test = (y_test == majority).float().mean().item()
print(f"test accuracy: {chosen} {test.accuracy:.4f}, majority guess {baseline_test:.4f}")
check(test.accuracy > baseline_test, "on the test rows the model beats the majority guess")
fig, ax = plt.subplots(figsize=(5, 4))
matrix = confusion_matrix(test.predictions, y_test, len(species_names))
plot_confusion_matrix(ax, matrix, species_names)
ax.set_title(f"{chosen} on the test rows")
fig.tight_layout()
plt.show()
