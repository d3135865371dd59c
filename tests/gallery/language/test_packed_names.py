"""The packing page: its rows hold every validation name once, in order."""

from __future__ import annotations

import ast

import pytest

from pages import GALLERY


@pytest.fixture(scope="module")
def packed(gallery_page):
    return gallery_page("language/plot_packed_names.py")


def test_the_rows_hold_every_validation_name_once_in_order(packed):
    tokens, _, _, name_ids = packed["val_rows"]
    vocab, names = packed["vocab"], packed["splits"].val
    text = vocab.decode(tokens[name_ids >= 0])
    assert text == "".join("." + name for name in names)
    assert sorted(set(name_ids.flatten().tolist())) == [-1, *range(len(names))]
    assert packed["n_val_predicted"] == sum(len(name) + 1 for name in names)


def test_the_padded_share_is_that_of_the_rows(packed):
    name_ids = packed["val_rows"][3]
    padding = (name_ids == -1).sum().item() / name_ids.numel()
    assert packed["packed_share"].item() == pytest.approx(padding)


def test_the_padded_batches_are_as_large_as_the_recurrent_networks(packed):
    # The page compares packed rows with the recurrent network's batches: same size.
    source = (GALLERY / "language" / "plot_recurrent_network.py").read_text()
    sizes = [
        node.value.value
        for node in ast.parse(source).body
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "BATCH_SIZE"
    ]
    assert sizes == [packed["RNN_BATCH_SIZE"]]
    assert packed["padded"].shape[1] == packed["RNN_BATCH_SIZE"]
