"""Solutions of the data exercises (gallery/data/plot_data_exercises.py).

Shown in the page's "Solution" dropdowns by docs/ext/exercise_pages.py, which checks each
one while the site is built. Each function is pasted whole into a notebook by readers and
by tests/site/check_downloads.py, so it uses only the names the page imports.
"""

import pandas as pd
import torch
from torch.utils.data import DataLoader

PAD = 0


def seeded_loader(dataset, batch_size: int, seed: int) -> DataLoader:
    order = torch.Generator().manual_seed(seed)
    return DataLoader(dataset, batch_size=batch_size, shuffle=True, generator=order)


def standardize_columns(train: pd.DataFrame, table: pd.DataFrame, columns: list) -> pd.DataFrame:
    mean, std = train[columns].mean(), train[columns].std()
    result = table.copy()
    result[columns] = (table[columns] - mean) / std
    return result


def one_hot(values: pd.Series, categories: list) -> torch.Tensor:
    known = values.isin(categories) | values.isna()
    codes = pd.Categorical(values.where(known), categories=categories)
    columns = torch.tensor(pd.get_dummies(codes).to_numpy(dtype="float32"))
    other = torch.tensor((~known).to_numpy(dtype="float32")).unsqueeze(1)
    return torch.cat([columns, other], dim=1)


def pad_collate(batch: list) -> tuple:
    sequences = [sequence for sequence, _ in batch]
    lengths = torch.tensor([len(sequence) for sequence in sequences])
    labels = torch.tensor([label for _, label in batch])
    padded = torch.nn.utils.rnn.pad_sequence(sequences, batch_first=True, padding_value=PAD)
    return padded, lengths, labels


def stratified_split(labels: torch.Tensor, fraction: float, generator: torch.Generator) -> tuple:
    train, val = [], []
    for label in labels.unique():
        members = (labels == label).nonzero().flatten()
        members = members[torch.randperm(len(members), generator=generator)]
        n_val = round(fraction * len(members))
        val.append(members[:n_val])
        train.append(members[n_val:])
    return torch.cat(train), torch.cat(val)
