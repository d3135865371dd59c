"""The data exercises' checks reject the mistakes the exercises are about.

The generic checks (solutions pass, blanks are not done) are in
``tests/site/test_exercise_pages.py``.
"""

from __future__ import annotations

import pandas as pd
import torch
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import DataLoader

from exercise_mistakes import mistake_tests
from pytorch_examples.exercises import data as ex


def loader_seeding_the_global_generator(dataset, batch_size, seed):
    torch.manual_seed(seed)
    return DataLoader(dataset, batch_size=batch_size, shuffle=True)


def loader_without_shuffle(dataset, batch_size, seed):
    order = torch.Generator().manual_seed(seed)
    return DataLoader(dataset, batch_size=batch_size, generator=order)


def standardize_with_own_statistics(train, table, columns):
    result = table.copy()
    result[columns] = (table[columns] - table[columns].mean()) / table[columns].std()
    return result


def standardize_in_place(train, table, columns):
    table[columns] = (table[columns] - train[columns].mean()) / train[columns].std()
    return table


def standardize_every_numeric_column(train, table, columns):
    numeric = table.select_dtypes("number").columns
    result = table.copy()
    result[numeric] = (table[numeric] - train[numeric].mean()) / train[numeric].std()
    return result


def one_hot_with_get_dummies(values, categories):
    return torch.tensor(pd.get_dummies(values).to_numpy(dtype="float32"))


def one_hot(values, categories, *, order=None, unseen="other", missing="zeros"):
    known = values.isin(categories) | values.isna()
    if unseen == "error" and not known.all():
        raise ValueError(f"unseen values {sorted(set(values[~known]))}")
    codes = pd.Categorical(values.where(known), categories=order or categories)
    columns = torch.tensor(pd.get_dummies(codes).to_numpy(dtype="float32"))
    other = ~known if unseen == "other" else pd.Series(False, index=values.index)
    if missing == "other":
        other = other | values.isna()
    return torch.cat([columns, torch.tensor(other.to_numpy(dtype="float32")).unsqueeze(1)], 1)


def one_hot_in_sorted_order(values, categories):
    return one_hot(values, categories, order=sorted(categories))


def one_hot_unseen_as_missing(values, categories):
    return one_hot(values, categories, unseen="zeros")


def one_hot_missing_as_other(values, categories):
    return one_hot(values, categories, missing="other")


def one_hot_raising_on_unseen(values, categories):
    return one_hot(values, categories, unseen="error")


def one_hot_as_indices(values, categories):
    return torch.tensor([categories.index(v) if v in categories else -1 for v in values])


def collate_as_a_list(batch):
    sequences = [sequence for sequence, _ in batch]
    return [
        pad_sequence(sequences, batch_first=True),
        torch.tensor([len(sequence) for sequence in sequences]),
        torch.tensor([label for _, label in batch]),
    ]


def test_a_collate_function_returning_a_list_passes():
    result = ex.pad_collate.grade(collate_as_a_list)
    assert result.passed, str(result)


def collate_padding_at_the_front(batch):
    longest = max(len(sequence) for sequence, _ in batch)
    padded = torch.stack(
        [torch.cat([torch.zeros(longest - len(s), dtype=s.dtype), s]) for s, _ in batch]
    )
    lengths = torch.tensor([len(sequence) for sequence, _ in batch])
    return padded, lengths, torch.tensor([label for _, label in batch])


def collate_to_a_fixed_length(batch):
    padded = torch.zeros(len(batch), 10, dtype=torch.int64)
    for row, (sequence, _) in enumerate(batch):
        padded[row, : len(sequence)] = sequence
    lengths = torch.tensor([len(sequence) for sequence, _ in batch])
    return padded, lengths, torch.tensor([label for _, label in batch])


def collate_measuring_padded_lengths(batch):
    padded = pad_sequence([s for s, _ in batch], batch_first=True)
    lengths = torch.tensor([len(row) for row in padded])
    return padded, lengths, torch.tensor([label for _, label in batch])


def split_at_random(labels, fraction, generator):
    order = torch.randperm(len(labels), generator=generator)
    n_val = round(fraction * len(labels))
    return order[n_val:], order[:n_val]


def split_first_of_each_class(labels, fraction, generator):
    train, val = [], []
    for label in labels.unique():
        members = (labels == label).nonzero().flatten()
        n_val = round(fraction * len(members))
        val.append(members[:n_val])
        train.append(members[n_val:])
    return torch.cat(train), torch.cat(val)


WRONG = {
    "seeded_loader": [
        (loader_seeding_the_global_generator, "give the DataLoader its own generator"),
        (loader_without_shuffle, "shuffle them"),
    ],
    "standardize_columns": [
        (standardize_with_own_statistics, "the training rows alone provide them"),
        (standardize_in_place, "changed the table it was given"),
        (standardize_every_numeric_column, "column 'id' changed"),
    ],
    "one_hot": [
        (one_hot_with_get_dummies, "one per training category"),
        (one_hot_in_sorted_order, "alphabetical order"),
        (one_hot_unseen_as_missing, "reads it as missing"),
        (one_hot_missing_as_other, "went to 'other'"),
        (one_hot_raising_on_unseen, "ValueError"),
        (one_hot_as_indices, "expected a matrix"),
    ],
    "pad_collate": [
        (collate_padding_at_the_front, "You padded at the front"),
        (collate_to_a_fixed_length, "the longest in this batch"),
        (collate_measuring_padded_lengths, "measured after padding"),
    ],
    "stratified_split": [
        (split_at_random, "Split each class on its own"),
        (split_first_of_each_class, "must be random"),
    ],
}


# The two tests every exercise section has: each mistake above is rejected, and named.
test_a_common_mistake_is_rejected_and_explained, test_every_exercise_has_a_wrong_answer = (
    mistake_tests(ex, WRONG)
)
