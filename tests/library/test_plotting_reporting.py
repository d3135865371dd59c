import matplotlib.pyplot as plt
import pytest
import torch

from pytorch_examples.plotting import plot_curves_by_epoch, plot_loss_curve
from pytorch_examples.reporting import format_table


@pytest.fixture
def ax():
    fig, axes = plt.subplots()
    yield axes
    plt.close(fig)


def test_one_line_per_epoch_and_a_colorbar(ax):
    grid = torch.linspace(0, 1, 5)
    colorbar = plot_curves_by_epoch(ax, grid, [k * grid for k in range(7)])
    assert len(ax.lines) == 7
    assert colorbar.mappable.norm.vmax == 7
    # First and last epochs get different colours.
    assert ax.lines[0].get_color() != ax.lines[-1].get_color()


def test_curves_are_checked_against_the_grid(ax):
    with pytest.raises(ValueError, match="empty"):
        plot_curves_by_epoch(ax, torch.zeros(3), [])
    with pytest.raises(ValueError, match="expected"):
        plot_curves_by_epoch(ax, torch.zeros(3), [torch.zeros(4)])


def test_loss_curve_uses_log_scale_and_counts_from_one(ax):
    plot_loss_curve(ax, [4.0, 2.0, 1.0])
    assert ax.get_yscale() == "log"
    assert list(ax.lines[0].get_xdata()) == [1, 2, 3]
    with pytest.raises(ValueError, match="empty"):
        plot_loss_curve(ax, [])


def test_table_aligns_columns_and_never_prints_negative_zero():
    table = format_table(["x", "value"], [(1, -0.0), (10, -0.00001), (100, 2.5)], digits=3)
    lines = table.splitlines()
    assert lines[0] == "  x  value"
    assert lines[1] == "---  -----"
    assert lines[2] == "  1  0.000"
    assert lines[3] == " 10  0.000"
    assert lines[4] == "100  2.500"
    assert "-0.000" not in table


def test_table_rejects_ragged_rows():
    with pytest.raises(ValueError, match="row 0 has 1 cells, expected 2"):
        format_table(["a", "b"], [(1,)])
