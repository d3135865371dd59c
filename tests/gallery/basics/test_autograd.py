"""The autograd page prints the same numbers on every run, about the function it names."""

from __future__ import annotations

import torch

from pages import GALLERY, execute_page

AUTOGRAD = GALLERY / "basics" / "plot_autograd.py"


def test_autograd_page_prints_the_same_output_on_a_second_run(gallery_page):
    # Its prose quotes printed numbers, so a second build must print them again.
    first = gallery_page("basics/plot_autograd.py").output
    second = execute_page(AUTOGRAD, {}, record_claims=False).output
    assert first
    assert second == first


def test_autograd_gradchecked_function_has_the_gradient_of_its_docstring(gallery_page):
    # log(1 + exp(a b)) summed has gradient b sigmoid(a b) in a and a sigmoid(a b) in b;
    # gradcheck on the page only proves autograd consistent with whatever it computes.
    function = gallery_page("basics/plot_autograd.py")["softplus_of_product"]
    a = torch.tensor([-30.0, -1.0, 0.0, 0.5, 40.0], dtype=torch.float64, requires_grad=True)
    b = torch.tensor([0.5, 2.0, -3.0, 1.5, 0.25], dtype=torch.float64, requires_grad=True)
    grad_a, grad_b = torch.autograd.grad(function(a, b), (a, b))
    weight = torch.sigmoid(a * b).detach()
    torch.testing.assert_close(grad_a, b.detach() * weight)
    torch.testing.assert_close(grad_b, a.detach() * weight)
    expected = torch.log1p(torch.exp(a * b)).sum()
    torch.testing.assert_close(function(a, b), expected)
