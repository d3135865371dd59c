import pytest
import torch
from torch import nn
from torch.nn import functional as F

from pytorch_examples.evaluation import confusion_matrix, eval_mode, evaluate


def make_data(n: int = 50, n_classes: int = 3):
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randn(n, 4, generator=generator)
    return inputs, torch.randint(n_classes, (n,), generator=generator)


@pytest.mark.parametrize("was_training", [True, False])
def test_evaluate_runs_in_eval_mode_and_restores_the_previous_mode(was_training):
    inputs, targets = make_data()
    model = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.Linear(8, 3))
    model.train(was_training)
    seen_modes = []
    model.register_forward_hook(lambda module, args, output: seen_modes.append(module.training))
    evaluate(model, inputs, targets, batch_size=20)
    assert seen_modes == [False, False, False]  # three batches, all in evaluation mode
    assert model.training is was_training


def test_evaluate_matches_a_direct_computation_in_any_batch_size():
    inputs, targets = make_data()
    model = nn.Linear(4, 3)
    with torch.no_grad():
        logits = model(inputs)
    expected_loss = F.cross_entropy(logits, targets).item()
    expected_predictions = logits.argmax(dim=1)
    for batch_size in (1, 7, 50, 1000):
        result = evaluate(model, inputs, targets, batch_size=batch_size)
        assert result.loss == pytest.approx(expected_loss, rel=1e-5)
        assert torch.equal(result.predictions, expected_predictions)
        assert result.accuracy == pytest.approx((expected_predictions == targets).float().mean())


def test_evaluate_prepares_each_batch_and_needs_no_gradients():
    inputs, targets = make_data()
    model = nn.Linear(4, 3)
    scaled = evaluate(model, inputs / 2, targets)
    prepared = evaluate(model, inputs, targets, prepare=lambda batch: batch / 2)
    assert prepared.loss == pytest.approx(scaled.loss)
    assert model.weight.grad is None


def test_evaluate_rejects_mismatched_or_empty_data():
    inputs, targets = make_data()
    with pytest.raises(ValueError, match="as many inputs as targets"):
        evaluate(nn.Linear(4, 3), inputs, targets[:-1])
    with pytest.raises(ValueError, match="at least one"):
        evaluate(nn.Linear(4, 3), inputs[:0], targets[:0])
    with pytest.raises(ValueError, match="positive"):
        evaluate(nn.Linear(4, 3), inputs, targets, batch_size=0)


def test_eval_mode_restores_the_mode_after_an_error():
    model = nn.Dropout()
    modes = []

    def fail_inside() -> None:
        with eval_mode(model):
            modes.append(model.training)
            raise KeyError

    with pytest.raises(KeyError):
        fail_inside()
    assert modes == [False]
    assert model.training


def test_confusion_matrix_counts_true_by_predicted():
    actual = torch.tensor([0, 0, 1, 2, 2, 2])
    predicted = torch.tensor([0, 1, 1, 2, 0, 2])
    matrix = confusion_matrix(predicted, actual, 3)
    assert matrix.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]
    assert matrix.sum(dim=1).tolist() == [2, 1, 3]
    with pytest.raises(ValueError, match="shapes differ"):
        confusion_matrix(predicted[:-1], actual, 3)
