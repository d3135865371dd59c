"""Checked claims: a page states a claim in prose, then proves it on its own output.

The convention is written down in CONTRIBUTING.md. A claim an argument rests on ("every
L2 strength raises the validation loss") is followed on its page by :func:`check`, which
prints the claim as checked or stops the page with :class:`ClaimError`. sphinx-gallery
reports an example that raises, and the docs build fails, so a claim that stops holding
cannot reach the published site.
"""

from __future__ import annotations

__all__ = ["ClaimError", "check"]


class ClaimError(AssertionError):
    """A claim made in a page's prose does not hold for the page's own results.

    First used on :doc:`/auto_examples/basics/plot_tensors_numpy`.
    """


def check(holds: object, claim: str) -> None:
    """Print ``claim`` as checked if ``holds`` is true; raise :class:`ClaimError` if not.

    First used on :doc:`/auto_examples/basics/plot_tensors_numpy`.

    Parameters
    ----------
    holds : object
        The evidence, reduced to one truth value: a ``bool``, or a one-element tensor
        or array such as ``(val_loss < baseline).all()``.
    claim : str
        The claim in the words of the page's prose.

    Raises
    ------
    ClaimError
        If ``holds`` is false.
    TypeError
        If ``claim`` is not a non-empty string.

    Examples
    --------
    >>> check(2.43 < 2.45, "the layer's validation loss is below the count model's")
    checked: the layer's validation loss is below the count model's
    """
    if not isinstance(claim, str) or not claim.strip():
        raise TypeError("claim must be a non-empty string that states what is checked")
    if not bool(holds):
        raise ClaimError(f"this page's claim no longer holds: {claim}")
    print(f"checked: {claim}")
