"""Projects whose docs this site links to, and where their inventories are kept.

Read by ``docs/conf.py`` and by the ``inventories`` nox session, which downloads each
``objects.inv`` into ``INVENTORY_DIR``.
"""

from pathlib import Path

INVENTORY_DIR = Path(__file__).parents[1] / "_inventories"
INVENTORY_URLS = {
    "python": "https://docs.python.org/3/",
    "torch": "https://docs.pytorch.org/docs/stable/",
    "numpy": "https://numpy.org/doc/stable/",
    "matplotlib": "https://matplotlib.org/stable/",
}
