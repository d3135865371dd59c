"""Library shared by the PyTorch Examples gallery.

The gallery pages import data sets, models, training loops and plotting helpers from
the modules of this package; the package never imports the gallery.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("pytorch-examples")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
