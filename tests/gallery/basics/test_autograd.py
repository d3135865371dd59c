"""The autograd page is reproducible."""

from __future__ import annotations

import torch

from pages import GALLERY, run_page

AUTOGRAD = GALLERY / "basics" / "plot_autograd.py"


def test_autograd_gradcheck_inputs_are_seeded(gallery_page):
    first, second = gallery_page("basics/plot_autograd.py"), run_page(AUTOGRAD)
    assert torch.equal(first["a"], second["a"])
    assert torch.equal(first["b"], second["b"])
