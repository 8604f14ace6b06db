"""Checkers for chapter 8's image metrics notebook (the unbiased KID estimator)."""

from __future__ import annotations

from .checks import Feedback, call_student, fail, run_check


def _kid_variants(a, b) -> dict[str, float]:
    """The reference and the typical wrong versions, each as a float, for features a (m d), b (n d)."""

    def kernel(x, y, degree=3, scale=None, coef0=1.0):
        return (x @ y.T / (x.shape[1] if scale is None else scale) + coef0) ** degree

    def unbiased(k_aa, k_bb, k_ab):
        m, n = len(k_aa), len(k_bb)
        return float(
            (k_aa.sum() - k_aa.trace()) / (m * (m - 1)) + (k_bb.sum() - k_bb.trace()) / (n * (n - 1)) - 2 * k_ab.mean()
        )

    def with_kernel(**kw):
        return unbiased(kernel(a, a, **kw), kernel(b, b, **kw), kernel(a, b, **kw))

    k_aa, k_bb, k_ab = kernel(a, a), kernel(b, b), kernel(a, b)
    m, n = len(a), len(b)
    return {
        "reference": unbiased(k_aa, k_bb, k_ab),
        "biased": float(k_aa.mean() + k_bb.mean() - 2 * k_ab.mean()),
        "diagonal kept, divided by m(m-1)": float(
            k_aa.sum() / (m * (m - 1)) + k_bb.sum() / (n * (n - 1)) - 2 * k_ab.mean()
        ),
        "diagonal dropped, divided by m²": float(
            (k_aa.sum() - k_aa.trace()) / m**2 + (k_bb.sum() - k_bb.trace()) / n**2 - 2 * k_ab.mean()
        ),
        "cross term once": unbiased(k_aa, k_bb, k_ab) + float(k_ab.mean()),
        "degree 2": with_kernel(degree=2),
        "degree 1": with_kernel(degree=1),
        "no 1/d": with_kernel(scale=1.0),
        "no +1": with_kernel(coef0=0.0),
        "sizes swapped": float(
            (k_aa.sum() - k_aa.trace()) / (n * (n - 1)) + (k_bb.sum() - k_bb.trace()) / (m * (m - 1)) - 2 * k_ab.mean()
        ),
    }


_HINTS = {
    "biased": "you average over all pairs, the diagonal k(xᵢ, xᵢ) included: that is the biased (V-statistic) "
    "estimator, whose mean grows as the sets shrink. Leave out i = i′: (K.sum() − K.trace()) / (m(m − 1)).",
    "diagonal kept, divided by m(m-1)": "you divide by m(m − 1) but still sum the diagonal k(xᵢ, xᵢ): "
    "subtract K.trace() from K.sum() first.",
    "diagonal dropped, divided by m²": "you drop the diagonal but still divide by m²: there are m(m − 1) pairs with i ≠ i′.",
    "cross term once": "the cross term counts twice: MMD² = E k(x, x′) + E k(y, y′) − 2 E k(x, y).",
    "degree 2": "KID's kernel is cubic: (xᵀy / d + 1)³, not squared.",
    "degree 1": "KID's kernel is cubic: (xᵀy / d + 1)³; with degree 1 it only compares the means.",
    "no 1/d": "divide the dot product by the feature dimension d before adding 1: (xᵀy / d + 1)³.",
    "no +1": "the kernel adds 1 inside the cube, (xᵀy / d + 1)³, so that it also sees lower-order moments.",
    "sizes swapped": "each within-set sum is divided by its own set's pairs: m(m − 1) for a, n(n − 1) for b.",
}


def check_kid(kid) -> Feedback:
    """``kid(features_a (m d), features_b (n d)) -> float``: the unbiased MMD² with k(x, y) = (xᵀy / d + 1)³."""
    import torch

    def body() -> str:
        g = torch.Generator("cpu").manual_seed(0)
        cases = (
            (
                "two different sets, m = 7, n = 5, d = 3",
                torch.randn(7, 3, generator=g),
                0.5 + torch.randn(5, 3, generator=g),
            ),
            (
                "two sets of one distribution, m = 6, n = 9, d = 4",
                torch.randn(6, 4, generator=g),
                torch.randn(9, 4, generator=g),
            ),
        )
        for what, a, b in cases:
            a64, b64 = a.double(), b.double()
            got = call_student(kid, a.clone(), b.clone())
            if isinstance(got, torch.Tensor):
                if got.numel() != 1:
                    fail(
                        f"{what}: return one number (a float or a 0-d tensor), got a tensor of shape {tuple(got.shape)}."
                    )
                got = got.item()
            if not isinstance(got, (int, float)):
                fail(f"{what}: return one number (a float), got {type(got).__name__}.")
            variants = _kid_variants(a64, b64)
            expected = variants.pop("reference")

            def close(x, got=got) -> bool:
                return abs(float(got) - x) <= 1e-6 + 1e-5 * abs(x)

            if not close(expected):
                for name, value in variants.items():
                    if close(value):
                        fail(f"{what}: {_HINTS[name]}")
                fail(
                    f"{what}: expected {expected:.6g}, got {float(got):.6g}. Hint: build the three kernel matrices "
                    "K_aa (m m), K_bb (n n), K_ab (m n) with k(x, y) = (xᵀy / d + 1)³, average the first two without "
                    "their diagonals, and subtract twice the mean of the third."
                )
        return (
            "Correct: the unbiased MMD² with KID's cubic kernel. Without the diagonal terms its mean no longer depends on "
            "the sample size, and it is 0 on average for two samples of one distribution (so it can be negative)."
        )

    return run_check(body)
