import pytest
import torch

from pytorch_examples.data.synthetic import least_squares_line, make_line_data, make_two_class_data


def test_line_data_shapes_and_span():
    data = make_line_data(50, x_min=-2.0, x_max=4.0)
    assert data.x.shape == data.y.shape == (50,)
    assert data.x[0].item() == -2.0
    assert data.x[-1].item() == 4.0
    assert data.x.dtype == torch.float32


def test_line_data_same_seed_same_noise_other_seed_other_noise():
    first = make_line_data(seed=1)
    assert torch.equal(first.y, make_line_data(seed=1).y)
    assert not torch.equal(first.y, make_line_data(seed=2).y)


def test_line_data_does_not_touch_global_random_state():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    make_line_data(seed=5)
    assert torch.equal(torch.rand(3), expected)


def test_noise_free_line_is_exact_and_recovered_by_least_squares():
    data = make_line_data(20, slope=-1.5, intercept=0.25, noise_std=0.0)
    assert torch.allclose(data.y, -1.5 * data.x + 0.25)
    slope, intercept = least_squares_line(data.x, data.y)
    assert slope == pytest.approx(-1.5, abs=1e-5)
    assert intercept == pytest.approx(0.25, abs=1e-4)


def test_least_squares_matches_the_covariance_formula():
    data = make_line_data(100, seed=3)
    x, y = data.x.double(), data.y.double()
    slope = ((x - x.mean()) * (y - y.mean())).sum() / ((x - x.mean()) ** 2).sum()
    intercept = y.mean() - slope * x.mean()
    assert least_squares_line(data.x, data.y) == pytest.approx(
        (slope.item(), intercept.item()), rel=1e-5
    )


def test_noise_has_the_requested_spread():
    data = make_line_data(20_000, slope=0.0, intercept=0.0, noise_std=3.0, seed=0)
    assert data.y.std().item() == pytest.approx(3.0, rel=0.03)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"n_points": 1}, ValueError, "at least 2"),
        ({"n_points": -5}, ValueError, "positive integer"),
        ({"n_points": 2.5}, TypeError, "must be an int"),
        ({"noise_std": -1.0}, ValueError, "noise_std"),
        ({"x_min": 1.0, "x_max": 1.0}, ValueError, "x_min must be less"),
    ],
)
def test_line_data_rejects_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        make_line_data(**kwargs)


def test_two_class_data_labels_and_class_means():
    data = make_two_class_data(2000, means=(-3.0, 5.0), std=2.0, seed=0)
    assert data.x.shape == data.y.shape == (4000,)
    assert set(data.y.unique().tolist()) == {0.0, 1.0}
    assert data.x[data.y == 0].mean().item() == pytest.approx(-3.0, abs=0.15)
    assert data.x[data.y == 1].mean().item() == pytest.approx(5.0, abs=0.15)
    assert data.x[data.y == 1].std().item() == pytest.approx(2.0, rel=0.05)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"n_per_class": 0}, ValueError),
        ({"std": 0.0}, ValueError),
        ({"std": "2"}, TypeError),
        ({"means": (1.0, 2.0, 3.0)}, ValueError),
    ],
)
def test_two_class_data_rejects_bad_arguments(kwargs, error):
    with pytest.raises(error):
        make_two_class_data(**kwargs)


def test_least_squares_rejects_mismatched_inputs():
    with pytest.raises(ValueError, match="same length"):
        least_squares_line(torch.zeros(3), torch.zeros(4))


def test_sine_data_is_reproducible_and_follows_the_curve():
    from pytorch_examples.data.synthetic import make_sine_data

    x, y = make_sine_data(500, noise_std=0.0, seed=3)
    assert torch.all((x >= 0) & (x <= 1))
    assert torch.allclose(y, torch.sin(2 * torch.pi * x))
    assert torch.equal(make_sine_data(10, seed=1)[1], make_sine_data(10, seed=1)[1])
    with pytest.raises(ValueError, match="noise_std"):
        make_sine_data(10, noise_std=-1)


def test_polynomial_features_are_the_powers():
    from pytorch_examples.data.synthetic import polynomial_features

    features = polynomial_features(torch.tensor([2.0, -1.0]), 3)
    assert features.tolist() == [[2.0, 4.0, 8.0], [-1.0, 1.0, -1.0]]
    with pytest.raises(ValueError, match="one-dimensional"):
        polynomial_features(torch.zeros(2, 2), 2)
    with pytest.raises(ValueError, match="positive"):
        polynomial_features(torch.zeros(2), 0)
