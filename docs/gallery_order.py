"""The reading order of the gallery, for sphinx-gallery's sorting options."""

from pathlib import Path

# Pages in the order a reader should meet them; any page not listed follows, by name.
PAGE_ORDER = [
    "plot_tensors_numpy.py",
    "plot_autograd.py",
    "plot_activation_functions.py",
    "plot_linear_regression_autograd.py",
    "plot_linear_regression_minibatch.py",
    "plot_linear_regression_nn.py",
    "plot_loss_choice.py",
    "plot_overfitting.py",
    "plot_logistic_regression.py",
    "plot_argmax_softmax.py",
    "plot_digits_mlp.py",
    "plot_bigram_counts.py",
    "plot_softmax_bigram.py",
    "plot_mlp_language_model.py",
    "plot_cifar10_cnn.py",
    "plot_devices_and_precision.py",
    "plot_gpu_fast_cifar10.py",
]


class ReadingOrder:
    """Sort key: position in PAGE_ORDER, then file name."""

    def __init__(self, src_dir: str) -> None:
        self.src_dir = src_dir

    def __call__(self, filename: str) -> tuple[int, str]:
        """Return the sort key of one example file."""
        name = Path(filename).name
        position = PAGE_ORDER.index(name) if name in PAGE_ORDER else len(PAGE_ORDER)
        return position, name

    def __repr__(self) -> str:
        """Name the key stably, so that Sphinx's cache does not see a new config."""
        return f"{self.__class__.__name__}()"
