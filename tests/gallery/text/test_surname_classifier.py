"""The surname classifier page: batches give each name what it gets alone, and the alphabet."""

from __future__ import annotations

from collections import Counter

import pytest
import torch
from torch.nn import functional as F

from pytorch_examples.data.surnames import CharacterAlphabet, pad_names

# Lengths differ and are not sorted, so that packing has to reorder and restore the batch.
NAMES = ["Li", "Abramovich", "Nguyen", "O'Neill", "Kowalski", "Ng", "Øster"]


@pytest.fixture(scope="module")
def page(gallery_page):
    return gallery_page("text/plot_surname_classifier.py")


def outputs_alone(model, alphabet, names):
    with torch.no_grad():
        return torch.cat([model(*pad_names([name], alphabet)) for name in names])


@pytest.mark.parametrize("label", ["GRU", "CNN"])
def test_a_batch_gives_every_name_what_it_gets_alone(page, label):
    model, alphabet = page["models"][label], page["alphabet"]
    model.eval()
    tokens, lengths = pad_names(NAMES, alphabet)
    assert tokens.shape == (len(NAMES), max(len(name) for name in NAMES))
    assert (tokens[lengths[:, None] <= torch.arange(tokens.shape[1])] == 0).all()
    with torch.no_grad():
        batched = model(tokens, lengths)
    assert batched.shape == (len(NAMES), len(page["LANGUAGES"]))
    torch.testing.assert_close(batched, outputs_alone(model, alphabet, NAMES))


def test_reading_the_padding_would_change_the_gru_output(page):
    # The check above can fail: a GRU run over the padded rows, unpacked, ends on the
    # padding and gives short names other outputs than alone.
    model, alphabet = page["models"]["GRU"], page["alphabet"]
    tokens, _ = pad_names(NAMES, alphabet)
    with torch.no_grad():
        _, state = model.gru(model.embedding(tokens))
        unpacked = model.output(state[0])
    alone = outputs_alone(model, alphabet, NAMES)
    longest = max(range(len(NAMES)), key=lambda i: len(NAMES[i]))
    torch.testing.assert_close(unpacked[longest], alone[longest])
    assert not torch.allclose(unpacked[0], alone[0], atol=1e-4)


def test_a_mask_is_what_keeps_the_padding_out_of_the_cnns_maximum(page):
    # With padding treated as a real position, a short name's maximum changes.
    model, alphabet = page["models"]["CNN"], page["alphabet"]
    tokens, _ = pad_names(NAMES, alphabet)
    full = torch.full((len(NAMES),), tokens.shape[1])
    with torch.no_grad():
        unmasked = model(tokens, full)
    alone = outputs_alone(model, alphabet, NAMES)
    assert not torch.allclose(unmasked, alone, atol=1e-4)


def test_the_alphabet_is_the_common_characters_of_the_training_names(page):
    alphabet, splits, min_count = page["alphabet"], page["splits"], page["MIN_CHARACTER_COUNT"]
    counts = Counter(c for name in {name for name, _ in splits.train} for c in name)
    common = {c for c, n in counts.items() if n >= min_count}
    assert set(alphabet.symbols[2:]) == common
    assert common != set(counts), "some training characters are rare"
    unseen = {c for name, _ in splits.val + splits.test for c in name} - common
    assert unseen, "the real data has validation or test characters outside the alphabet"
    for character in unseen:
        assert alphabet.encode(f"A{character}") == [alphabet.encode("A")[0], 1]


def test_every_example_character_outside_the_alphabet_gets_a_clear_message(page):
    training = {c for name, _ in page["splits"].train for c in name}
    expected = [
        f"{name}: {c!r} is not in the training alphabet; read as <unk>"
        for name in page["EXAMPLE_NAMES"]
        for c in dict.fromkeys(name)
        if c not in training
    ]
    assert expected, "an example name has a character unseen in training"
    lines = page.output.splitlines()
    for message in expected:
        assert message in lines


def one_adam_step(model_class, alphabet, names):
    torch.manual_seed(0)
    model = model_class(len(alphabet), 18)
    before = model.embedding.weight.detach().clone()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    logits = model(*pad_names(names, alphabet))
    F.cross_entropy(logits, torch.zeros(len(names), dtype=torch.long)).backward()
    optimizer.step()
    return (model.embedding.weight.detach() - before).norm(dim=1)


def test_unk_is_trained_only_when_training_names_contain_it(page):
    # With every training character in the alphabet, <unk> never occurs in training and
    # its row never moves; with rare characters read as <unk>, a name holding one moves it.
    rare = next(iter(page["alphabet"].rare))
    names = ["Smith", f"Ab{rare}c"]
    with_all = CharacterAlphabet(names)
    assert one_adam_step(page["CNNClassifier"], with_all, names)[1] == 0
    assert one_adam_step(page["CNNClassifier"], page["alphabet"], names)[1] > 0
    moved = page["models"]["CNN"].embedding.weight - page["untrained"]["CNN"].embedding.weight
    assert moved[1].norm() > 0


def test_a_name_is_scored_right_for_any_of_its_languages(page):
    of_name = {}
    for name, language in page["pairs"]:
        of_name.setdefault(name, set()).add(language)
    names, right, languages = page["val_names"], page["right"], page["LANGUAGES"]
    assert len(names) == len(set(names)) == len({name for name, _ in page["splits"].val})
    twice = [i for i, name in enumerate(names) if len(of_name[name]) > 1]
    assert twice, "some validation names are listed under two languages"
    for i in twice:
        assert {languages[c] for c in right[i].nonzero().flatten().tolist()} == of_name[names[i]]
    model = page["models"]["CNN"]
    with torch.no_grad():
        model.eval()
        guesses = [
            languages[int(model(*pad_names([n], page["alphabet"])).argmax())] for n in names
        ]
    expected = [guess in of_name[name] for guess, name in zip(guesses, names, strict=True)]
    assert page["correct"]["CNN"].tolist() == expected


def test_the_printed_top_three_are_the_models_three_likeliest(page):
    # Read back from the output and compare with the model's probabilities for each name alone.
    model, languages = page["models"]["CNN"], page["LANGUAGES"]
    lines = {line.split()[0]: line.split()[1:] for line in page.output.splitlines() if line}
    for name in page["EXAMPLE_NAMES"]:
        with torch.no_grad():
            model.eval()
            probabilities = model(*pad_names([name], page["alphabet"])).softmax(dim=1)[0]
        top = probabilities.argsort(descending=True)[:3].tolist()
        printed = lines[name]
        assert printed[0::2] == [languages[i] for i in top], name
        assert [float(p) for p in printed[1::2]] == pytest.approx(
            probabilities[top].tolist(), abs=0.006
        )
