"""Library shared by the PyTorch Examples gallery.

It holds what two or more pages share: data sets and downloads (``data``), scoring
(``evaluation``), device choice (``device``), losses, plotting and printed output, and
the checks behind the pages' claims (``claims``). Each page defines the model and the
training loop it teaches; the package never imports the gallery.
"""

from importlib.metadata import PackageNotFoundError, version

# The installed distribution's version, which hatch-vcs takes from git tags when the
# package is built (pyproject.toml); no file states it.
try:
    __version__ = version("pytorch-examples")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
