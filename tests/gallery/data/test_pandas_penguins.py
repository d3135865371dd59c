"""The penguins page: its preprocessing against pandas, and its early stopping."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

PAGE = "data/plot_pandas_penguins.py"
COLUMNS = [
    "bill_length_mm",
    "bill_depth_mm",
    "flipper_length_mm",
    "body_mass_g",
    "island_Biscoe",
    "island_Dream",
    "island_Torgersen",
    "sex_female",
    "sex_male",
]


@pytest.fixture(scope="module")
def page(gallery_page):
    return gallery_page(PAGE)


def test_statistics_come_from_the_training_rows_only(page):
    preprocessor, train = page["preprocessor"], page["train_rows"]
    numeric = train.columns[train.columns.isin(COLUMNS[:4])]
    pd.testing.assert_series_equal(preprocessor.mean, train[numeric].mean())
    # Statistics over all rows differ, so a preprocessor fitted on more would fail above.
    assert not np.allclose(preprocessor.mean, page["penguins"][numeric].mean())


def test_transform_uses_no_statistic_of_the_rows_it_encodes(page):
    # Each encoded row must depend on its own input row alone: encoding validation rows
    # one at a time, or next to absurd neighbours, gives the same numbers.
    preprocessor, val = page["preprocessor"], page["val_rows"]
    together = preprocessor.transform(val)
    alone = torch.cat([preprocessor.transform(val.iloc[[i]]) for i in range(len(val))])
    torch.testing.assert_close(alone, together, rtol=0, atol=0)
    poisoned = val.copy()
    poisoned.iloc[1:, poisoned.columns.get_loc("body_mass_g")] *= 1000
    torch.testing.assert_close(preprocessor.transform(poisoned)[:1], together[:1])


def test_the_one_hot_columns_match_the_raw_categories(page):
    preprocessor, val = page["preprocessor"], page["val_rows"]
    assert preprocessor.columns == COLUMNS
    encoded = preprocessor.transform(val)
    for column in ("island_Biscoe", "island_Dream", "island_Torgersen"):
        expected = torch.tensor((val["island"] == column.removeprefix("island_")).to_numpy())
        assert torch.equal(encoded[:, COLUMNS.index(column)] == 1, expected)
    # Fitting on the same rows in another order gives the same columns.
    shuffled = page["train_rows"].sample(frac=1, random_state=1)
    assert page["Preprocessor"].fit(shuffled).columns == COLUMNS


def test_missing_values_are_rejected_or_unknown_as_documented(page):
    preprocessor, rows = page["preprocessor"], page["val_rows"].head(3)
    with pytest.raises(KeyError, match=r"missing columns \['body_mass_g'\]"):
        preprocessor.transform(rows.drop(columns="body_mass_g"))
    with pytest.raises(ValueError, match="lack measurements"):
        preprocessor.transform(rows.assign(bill_depth_mm=np.nan))
    # A missing category value is "unknown": zeros in that category's columns only.
    unknown = preprocessor.transform(rows.assign(sex=None))
    known = preprocessor.transform(rows)
    sex = [COLUMNS.index("sex_female"), COLUMNS.index("sex_male")]
    assert (unknown[:, sex] == 0).all() and (known[:, sex].sum(dim=1) == 1).all()
    others = [j for j in range(len(COLUMNS)) if j not in sex]
    torch.testing.assert_close(unknown[:, others], known[:, others])
    with pytest.raises(ValueError, match="unknown or missing species"):
        page["encode_species"](rows.assign(species="Emperor"), page["species_names"])


def test_the_tensors_have_the_dtypes_the_model_needs(page):
    assert page["x_train"].dtype == torch.float32
    assert page["y_train"].dtype == torch.int64
    assert page["x_train"].shape == (len(page["train_rows"]), len(COLUMNS))


def test_candidates_stop_patience_epochs_after_their_best_and_are_restored(page):
    x_val, y_val = page["x_val"], page["y_val"]
    for name, model in page["models"].items():
        curve, best = page["val_curves"][name], page["best_epoch"][name]
        assert len(curve) == best + page["PATIENCE"]
        assert curve[best - 1] == min(curve) < min(curve[best:])
        with torch.no_grad():
            losses = torch.nn.functional.cross_entropy(model(x_val), y_val, reduction="none")
        assert losses.mean().item() == pytest.approx(curve[best - 1], rel=1e-6)
