"""Exercises for the data section, checked on inputs the pages never show.

Used on :doc:`/auto_examples/data/plot_data_exercises`. The checks make small tensors
and pandas tables of their own from fixed seeds; no data set is downloaded.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader

from pytorch_examples.exercises._mistakes import expect_close_or_explain
from pytorch_examples.exercises.grading import Exercise, WrongAnswerError, call

__all__ = ["one_hot", "pad_collate", "seeded_loader", "standardize_columns", "stratified_split"]

PAD = 0  # the index that pads a sequence; real tokens are 1 and above


# seeded_loader


def _seeded_loader_cases(answer) -> str:
    dataset = list(range(100, 123))  # 23 items whose values are not their indices
    batch_size, seed = 5, 3
    case = f"a dataset of {len(dataset)} numbers, batch_size {batch_size}, seed {seed}"

    def first_epoch(global_seed: int, draws: int, loader_seed: int = seed) -> list[int]:
        """Return the first epoch's order, with the global generator seeded and used between."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(global_seed)
            loader = call(answer, dataset, batch_size, loader_seed, case=case)
            torch.rand(draws)  # the rest of a program draws random numbers too
            batches = [torch.as_tensor(batch).tolist() for batch in loader]
        sizes = [len(batch) for batch in batches]
        if sizes != [5, 5, 5, 5, 3]:
            raise WrongAnswerError(
                f"On {case}: batches of sizes {sizes}, expected [5, 5, 5, 5, 3]"
            )
        return [value for batch in batches for value in batch]

    order = first_epoch(0, 1)
    if sorted(order) != dataset:
        raise WrongAnswerError(f"On {case}: an epoch should hold every item once, got {order}")
    if order == dataset:
        raise WrongAnswerError(f"On {case}: the items came in their stored order; shuffle them.")
    elsewhere = first_epoch(1, 7)
    if elsewhere != order:
        raise WrongAnswerError(
            f"On {case}: the order changed when the rest of the program used the global "
            f"generator (first batch {order[:5]}, then {elsewhere[:5]}). torch.manual_seed "
            "is not enough: give the DataLoader its own generator, seeded with `seed`."
        )
    if first_epoch(0, 1, loader_seed=seed + 1) == order:
        raise WrongAnswerError(
            f"On {case}: seeds {seed} and {seed + 1} gave the same order; use the seed."
        )
    with torch.random.fork_rng(devices=[]):
        loader = call(answer, dataset, batch_size, seed, case=case)
        epochs = [[v for batch in loader for v in torch.as_tensor(batch).tolist()] for _ in "ab"]
    if epochs[0] == epochs[1]:
        raise WrongAnswerError(
            f"On {case}: the second epoch repeated the first one's order; each pass over "
            "the loader should reshuffle."
        )
    return (
        "shuffled, the same for the same seed whatever else draws random numbers, new each epoch"
    )


seeded_loader = Exercise(
    "seeded_loader",
    "A DataLoader with shuffle=True draws its order from the `generator` argument if it has "
    "one, and from the global generator if not.",
    _seeded_loader_cases,
)


# standardize_columns


def _standardize_columns_cases(answer) -> str:
    rng = np.random.default_rng(707)
    columns = ["height_cm", "mass_kg"]

    def table(rows: int, height: float, mass: float) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "id": np.arange(rows),
                "height_cm": rng.normal(height, 9.0, rows),
                "town": rng.choice(["Ayr", "Bute", "Coll"], rows),
                "mass_kg": rng.normal(mass, 12.0, rows),
            }
        )

    train, other = table(2000, 170.0, 70.0), table(40, 180.0, 85.0)
    other.index = other.index + 5000  # an index of its own, which must be kept
    before = other.copy()
    case = "2000 training rows and 40 other rows with taller, heavier people"
    got = call(answer, train.copy(), other, list(columns), case=case)
    if not other.equals(before):
        raise WrongAnswerError(
            f"On {case}: your function changed the table it was given; work on a copy "
            "(table.copy()) so the caller's data stays as it was."
        )
    if not isinstance(got, pd.DataFrame):
        raise WrongAnswerError(f"On {case}: expected a DataFrame, got {type(got).__name__}")
    if list(got.columns) != list(other.columns) or not got.index.equals(other.index):
        raise WrongAnswerError(
            f"On {case}: expected the columns {list(other.columns)} and the table's own "
            f"index; got columns {list(got.columns)}"
        )
    for untouched in ("id", "town"):
        if not got[untouched].equals(other[untouched]):
            raise WrongAnswerError(
                f"On {case}: column {untouched!r} changed; only the columns named in "
                "`columns` are standardized."
            )
    for column in columns:
        values = torch.tensor(other[column].to_numpy())
        train_values = torch.tensor(train[column].to_numpy())
        got_values = torch.tensor(got[column].to_numpy(dtype=float))
        expect_close_or_explain(
            got_values,
            (values - train_values.mean()) / train_values.std(),
            case=f"{case}, column {column!r}",
            mistakes=(
                (
                    (values - values.mean()) / values.std(),
                    "You used the statistics of the table being transformed; the training "
                    "rows alone provide them, and new rows are scaled with those.",
                ),
                (
                    (values - train_values.mean()),
                    "You subtracted the mean but did not divide by the standard deviation.",
                ),
                (
                    (values - train_values.min()) / (train_values.max() - train_values.min()),
                    "That is min-max scaling; standardize: subtract the mean, divide by the "
                    "standard deviation.",
                ),
            ),
            atol=2e-3,  # accepts a standard deviation divided by n or by n - 1
            rtol=1e-4,
        )
    return "the named columns scaled with training statistics, the rest and the input untouched"


standardize_columns = Exercise(
    "standardize_columns",
    "train[columns].mean() and train[columns].std() are Series indexed by column name; "
    "arithmetic with table[columns] lines them up by name. Assign into table.copy().",
    _standardize_columns_cases,
)


# one_hot

CATEGORIES = ["moraine", "fjord", "glacier"]  # deliberately not in alphabetical order


def _one_hot_cases(answer) -> str:
    cases = {
        "a subset lacking 'glacier'": ["fjord", "moraine", "moraine"],
        "values in another order than the categories": ["glacier", "moraine", "fjord", "fjord"],
        "a missing value (None) among them": ["glacier", None, "fjord"],
        "values never seen in training, 'tundra' and 'steppe'": [
            "fjord",
            "tundra",
            None,
            "steppe",
            "moraine",
        ],
    }
    width = len(CATEGORIES) + 1  # and the "other" column
    for name, values in cases.items():
        case = f"{name}, {values}, with categories {CATEGORIES}"
        expected = torch.zeros(len(values), width)
        for row, value in enumerate(values):
            if value is not None:
                column = CATEGORIES.index(value) if value in CATEGORIES else len(CATEGORIES)
                expected[row, column] = 1.0
        got = call(answer, pd.Series(values, dtype=object), list(CATEGORIES), case=case)
        if isinstance(got, torch.Tensor) and got.ndim != 2:
            raise WrongAnswerError(
                f"On {case}: expected a matrix of shape {tuple(expected.shape)}, one row per "
                f"value, got a tensor of shape {tuple(got.shape)}"
            )
        if isinstance(got, torch.Tensor) and got.shape[1] != width:
            raise WrongAnswerError(
                f"On {case}: got {got.shape[1]} columns, expected {width}: one per training "
                "category whichever of them the values hold (pd.get_dummies alone makes one "
                "per category it sees), then the 'other' column."
            )
        if isinstance(got, torch.Tensor) and got.dtype != torch.float32:
            raise WrongAnswerError(f"On {case}: expected float32, got {got.dtype}")
        in_sorted_order = expected[
            :, [*(CATEGORIES.index(c) for c in sorted(CATEGORIES)), len(CATEGORIES)]
        ]
        unseen_as_missing = expected.clone()
        unseen_as_missing[:, -1] = 0
        missing_as_other = expected.clone()
        missing_as_other[[value is None for value in values], -1] = 1
        expect_close_or_explain(
            got,
            expected,
            case=case,
            mistakes=(
                (
                    in_sorted_order,
                    "Your columns are in alphabetical order; follow the order of `categories`.",
                ),
                (
                    unseen_as_missing,
                    "An unseen value got a row of zeros, which reads it as missing: it is "
                    "present but unknown, so it goes to the 'other' column.",
                ),
                (
                    missing_as_other,
                    "A missing value (None) went to 'other'; it is the documented unknown, "
                    "a row of zeros. 'other' is for values that are present but unseen.",
                ),
            ),
        )
    return "fixed columns in the given order, 'other' for unseen values, zeros for missing"


one_hot = Exercise(
    "one_hot",
    "values.isin(categories) | values.isna() tells the known and missing values from the "
    "unseen ones. pd.Categorical(values.where(known), categories=categories) fixes the "
    "columns and their order, and pd.get_dummies of it gives all zeros where the value is "
    "missing; append the unseen mask as the last column.",
    _one_hot_cases,
)


# pad_collate


def _pad_collate_cases(answer) -> str:
    generator = torch.Generator().manual_seed(808)
    lengths = torch.randint(1, 10, (11,), generator=generator)
    items = [
        (torch.randint(1, 27, (int(length),), generator=generator), label)
        for label, length in enumerate(lengths.tolist())
    ]
    batches = (items[:4], items[4:5], items[5:])
    for batch in batches:
        sizes = [len(sequence) for sequence, _ in batch]
        case = f"a batch of {len(batch)} sequences of lengths {sizes}"
        got = call(answer, list(batch), case=case)
        if not isinstance(got, tuple | list) or len(got) != 3:
            raise WrongAnswerError(f"On {case}: expected (padded, lengths, labels), got {got!r}")
        padded, got_lengths, labels = got
        expected = torch.full((len(batch), max(sizes)), PAD)
        for row, (sequence, _) in enumerate(batch):
            expected[row, : len(sequence)] = sequence
        if not isinstance(padded, torch.Tensor) or padded.shape != expected.shape:
            shape = tuple(padded.shape) if isinstance(padded, torch.Tensor) else padded
            raise WrongAnswerError(
                f"On {case}: padded should have shape {tuple(expected.shape)} (the longest "
                f"in this batch), got {shape}"
            )
        if not torch.equal(padded, expected):
            at_front = torch.stack(
                [torch.cat([torch.full((max(sizes) - len(s),), PAD), s]) for s, _ in batch]
            )
            why = (
                " You padded at the front; pad at the end."
                if torch.equal(padded, at_front)
                else ""
            )
            row = int((padded != expected).any(dim=1).nonzero()[0])
            raise WrongAnswerError(
                f"On {case}, row {row}: expected {expected[row].tolist()}, got "
                f"{padded[row].tolist()} (pad with PAD = {PAD} at the end).{why}"
            )
        for name, got_tensor, want in (
            ("lengths", got_lengths, torch.tensor(sizes)),
            ("labels", labels, torch.tensor([label for _, label in batch])),
        ):
            if not isinstance(got_tensor, torch.Tensor) or got_tensor.dtype != torch.int64:
                raise WrongAnswerError(
                    f"On {case}: {name} should be an int64 tensor, got {got_tensor!r}"
                )
            if not torch.equal(got_tensor, want):
                raise WrongAnswerError(
                    f"On {case}: expected {name} {want.tolist()}, got {got_tensor.tolist()}"
                    + (" (measured after padding?)" if name == "lengths" else "")
                )
    loader = DataLoader(items, batch_size=4, collate_fn=answer)
    shapes = [tuple(padded.shape) for padded, _, _ in loader]
    return f"padded to each batch's longest; with a DataLoader, batches of shapes {shapes}"


pad_collate = Exercise(
    "pad_collate",
    "torch.nn.utils.rnn.pad_sequence(sequences, batch_first=True, padding_value=PAD) pads "
    "at the end; take the lengths before padding.",
    _pad_collate_cases,
)


# stratified_split


def _stratified_split_cases(answer) -> str:
    generator = torch.Generator().manual_seed(909)
    settings = (((500, 300, 150, 40, 10), 0.2), ((7, 93), 0.3), ((33, 33, 34), 0.5))
    for counts, fraction in settings:
        labels = torch.cat([torch.full((c,), k) for k, c in enumerate(counts)])
        labels = labels[torch.randperm(len(labels), generator=generator)]
        case = f"class sizes {counts}, validation fraction {fraction}"
        got = call(answer, labels.clone(), fraction, torch.Generator().manual_seed(1), case=case)
        if not isinstance(got, tuple) or len(got) != 2:
            raise WrongAnswerError(f"On {case}: expected (train_indices, val_indices)")
        train, val = (torch.as_tensor(part).long() for part in got)
        both = torch.cat([train, val])
        if len(set(train.tolist()) & set(val.tolist())):
            raise WrongAnswerError(
                f"On {case}: indices {sorted(set(train.tolist()) & set(val.tolist()))[:5]} "
                "are in both splits"
            )
        if sorted(both.tolist()) != list(range(len(labels))):
            raise WrongAnswerError(
                f"On {case}: the two splits hold {len(both)} indices, expected each of the "
                f"{len(labels)} exactly once"
            )
        for label, count in enumerate(counts):
            in_val = int((labels[val] == label).sum())
            if abs(in_val - count * fraction) >= 1:
                raise WrongAnswerError(
                    f"On {case}: class {label} has {count} examples; expected "
                    f"{count * fraction:g} (to within 1) in validation, got {in_val}. Split each "
                    "class on its own: a random split of all indices leaves a small class's "
                    "share to chance."
                )
        again = call(answer, labels.clone(), fraction, torch.Generator().manual_seed(1), case=case)
        other = call(answer, labels.clone(), fraction, torch.Generator().manual_seed(2), case=case)
        if not torch.equal(torch.as_tensor(again[1]).long(), val):
            raise WrongAnswerError(
                f"On {case}: the same seed gave another split; draw from `generator`."
            )
        if set(torch.as_tensor(other[1]).tolist()) == set(val.tolist()):
            raise WrongAnswerError(
                f"On {case}: seeds 1 and 2 chose the same validation examples; the choice "
                "within each class must be random (torch.randperm with the generator)."
            )
    return f"each class split in proportion, at random, on {len(settings)} label sets"


stratified_split = Exercise(
    "stratified_split",
    "For each class: its indices are (labels == c).nonzero().flatten(); shuffle them with "
    "torch.randperm(..., generator=generator) and send round(fraction * count) to validation.",
    _stratified_split_cases,
)
