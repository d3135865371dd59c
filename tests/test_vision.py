import pytest
import torch
from torch.nn import functional as F

from pytorch_examples.vision import (
    FastTrainConfig,
    ResNet9,
    SmallCNN,
    confusion_matrix,
    predict,
    train_fast,
)


def tiny_batch(n=16, seed=0):
    generator = torch.Generator().manual_seed(seed)
    images = torch.randn(n, 3, 32, 32, generator=generator)
    labels = torch.randint(0, 10, (n,), generator=generator)
    return images, labels


@pytest.mark.parametrize("model_class", [SmallCNN, ResNet9])
def test_models_output_one_logit_per_class(model_class):
    torch.manual_seed(0)
    model = model_class() if model_class is SmallCNN else model_class(width=8)
    assert model(torch.randn(4, 3, 32, 32)).shape == (4, 10)


@pytest.mark.parametrize("model_class", [SmallCNN, ResNet9])
def test_a_few_steps_on_one_batch_reduce_the_loss(model_class):
    torch.manual_seed(0)
    model = SmallCNN((8, 16)) if model_class is SmallCNN else ResNet9(width=4)
    images, labels = tiny_batch()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    losses = []
    for _ in range(5):
        loss = F.cross_entropy(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


def test_small_cnn_checks_its_input():
    with pytest.raises(ValueError, match=r"\(batch, 3, h, w\)"):
        SmallCNN()(torch.zeros(2, 1, 32, 32))
    with pytest.raises(ValueError, match="at least one stage"):
        SmallCNN(())


def test_confusion_matrix_counts_rows_by_true_class():
    actual = torch.tensor([0, 0, 1, 2, 2, 2])
    predicted = torch.tensor([0, 1, 1, 2, 0, 2])
    matrix = confusion_matrix(predicted, actual, 3)
    assert matrix.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]
    assert matrix.sum(dim=1).tolist() == [2, 1, 3]
    with pytest.raises(ValueError, match="shapes differ"):
        confusion_matrix(predicted[:2], actual, 3)


def test_predict_uses_eval_mode_and_batches():
    torch.manual_seed(0)
    model = SmallCNN((4,))
    images = torch.randint(0, 256, (10, 3, 32, 32), dtype=torch.uint8)
    mean, std = torch.full((3,), 0.5), torch.full((3,), 0.25)
    model.train()
    in_batches = predict(model, images, mean, std, batch_size=3)
    assert not model.training
    whole = predict(model, images, mean, std, batch_size=10)
    assert torch.equal(in_batches, whole)
    assert in_batches.shape == (10,)
    assert predict(model, images, mean, std, flip_average=True).shape == (10,)


def test_fast_training_code_path_runs_on_cpu_with_a_tiny_configuration():
    generator = torch.Generator().manual_seed(0)
    # Two classes that differ in brightness: learnable in a few steps.
    labels = torch.randint(0, 2, (64,), generator=generator)
    images = (labels.view(-1, 1, 1, 1) * 150 + 50).expand(64, 3, 32, 32).to(torch.uint8)
    config = FastTrainConfig(
        epochs=6,
        batch_size=16,
        width=4,
        max_learning_rate=0.05,
        mixed_precision=True,
        channels_last=True,
    )
    epochs_seen = []
    result = train_fast(
        config,
        images,
        labels,
        torch.full((3,), 0.5),
        torch.full((3,), 0.25),
        on_epoch=lambda epoch, seconds: epochs_seen.append(epoch),
    )
    assert epochs_seen == [1, 2, 3, 4, 5, 6]
    assert len(result.losses) == 6 * 4
    assert sum(result.losses[-4:]) < sum(result.losses[:4])
    assert result.images_per_second > 0


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"epochs": 0}, ValueError),
        ({"batch_size": 0}, ValueError),
        ({"label_smoothing": 1.0}, ValueError),
        ({"width": 2.5}, TypeError),
    ],
)
def test_fast_config_rejects_bad_settings(kwargs, error):
    with pytest.raises(error):
        FastTrainConfig(**kwargs)
