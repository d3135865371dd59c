"""Fixtures of the language page tests: recorded metrics, and checks of sequence models."""

from __future__ import annotations

import json
import types
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from torch.nn import functional as F

from pytorch_examples.data.names import CharVocabulary


@pytest.fixture(scope="session")
def recorded(gallery_page, tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], dict]:
    """Run a page through ``gallery_page`` and return the metrics it recorded."""

    def read(file: str) -> dict:
        gallery_page(file)
        stem = Path(file).stem
        # The newest record of the page in this session's folders of results.
        paths = tmp_path_factory.getbasetemp().glob(f"page-results*/results/{stem}.json")
        path = max(paths, key=lambda candidate: candidate.stat().st_mtime)
        return json.loads(path.read_text())["metrics"]

    return read


VOCAB = CharVocabulary()
NAMES = ["ava", "christopher", "li", "emma", "zoe", "maximiliano"]


def logits_of(model, tokens):
    """Logits of a model in evaluation mode, (batch, length, vocab); drops an RNN's state."""
    model.eval()
    with torch.no_grad():
        output = model(tokens)
    return output[0] if isinstance(output, tuple) else output


def losses_alone(model, name):
    """The loss of each character of ``name`` and its end, the name read on its own."""
    tokens = torch.tensor([VOCAB.encode("." + name)])
    targets = torch.tensor(VOCAB.encode(name + "."))
    return F.cross_entropy(logits_of(model, tokens)[0], targets, reduction="none")


def mean_loss_alone(model, names):
    """The mean loss of ``names``, each scored on its own, unpadded."""
    return torch.cat([losses_alone(model, name) for name in names]).double().mean().item()


def assert_records_name_by_name(model, names, record):
    """The recorded losses are the validation names' losses, name by name, in order."""
    losses = torch.tensor(record["val_losses"])
    assert record["val_positions"] == [p for name in names for p in range(len(name) + 1)]
    assert losses.double().mean().item() == pytest.approx(record["val_loss"])
    for name, start in ((names[0], 0), (names[-1], len(losses) - len(names[-1]) - 1)):
        torch.testing.assert_close(
            losses[start : start + len(name) + 1], losses_alone(model, name)
        )


def assert_causal(model):
    """A later character never changes the logits at an earlier position."""
    generator = torch.Generator().manual_seed(0)
    tokens = torch.randint(0, 27, (4, 12), generator=generator)
    for position in (3, 7, 11):
        changed = tokens.clone()
        changed[:, position:] = torch.randint(0, 27, (4, 12 - position), generator=generator)
        before, after = logits_of(model, tokens), logits_of(model, changed)
        assert torch.equal(before[:, :position], after[:, :position])
        assert not torch.equal(before[:, position:], after[:, position:])


@pytest.fixture(scope="session")
def sequences() -> types.SimpleNamespace:
    """The checks above, for the recurrent and GPT page tests."""
    return types.SimpleNamespace(
        NAMES=NAMES,
        logits_of=logits_of,
        losses_alone=losses_alone,
        mean_loss_alone=mean_loss_alone,
        assert_records_name_by_name=assert_records_name_by_name,
        assert_causal=assert_causal,
    )
