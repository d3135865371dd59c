import pytest
import torch
from torch import nn

from pytorch_examples.digits import load_digits_split
from pytorch_examples.training import TrainConfig, loss_and_accuracy, train_classifier


def test_digits_split_is_disjoint_scaled_and_complete():
    data = load_digits_split(seed=0)
    sizes = [len(data.train_y), len(data.val_y), len(data.test_y)]
    assert sum(sizes) == 1797
    assert sizes[0] == int(0.6 * 1797)
    assert data.train_x.shape[1] == 64
    assert data.train_x.min() >= 0.0
    assert data.train_x.max() <= 1.0
    rows = {tuple(r.tolist()) for r in data.train_x} & {tuple(r.tolist()) for r in data.test_x}
    # The data set holds a few identical images; the split itself must not duplicate.
    assert len(rows) < 10
    assert torch.equal(load_digits_split(seed=0).test_y, data.test_y)
    with pytest.raises(ValueError, match="fractions"):
        load_digits_split((0.5, 0.5, 0.5))


def test_training_a_linear_classifier_learns_separable_data():
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(200, 2, generator=generator)
    y = (x[:, 0] + x[:, 1] > 0).long()
    model = nn.Linear(2, 2)
    history = train_classifier(
        model,
        (x[:150], y[:150]),
        (x[150:], y[150:]),
        TrainConfig(n_epochs=30, batch_size=16, learning_rate=0.05),
    )
    assert len(history.train_loss) == len(history.val_accuracy) == 30
    assert history.train_loss[-1] < history.train_loss[0]
    assert history.val_accuracy[-1] > 0.9
    assert loss_and_accuracy(model, x, y)[1] > 0.9
    assert not model.training


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"n_epochs": 0}, ValueError),
        ({"learning_rate": -1.0}, ValueError),
        ({"weight_decay": -0.1}, ValueError),
        ({"batch_size": 1.5}, TypeError),
    ],
)
def test_train_config_rejects_bad_settings(kwargs, error):
    with pytest.raises(error):
        TrainConfig(**kwargs)
