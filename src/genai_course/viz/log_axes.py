"""Readable tick labels on logarithmic axes.

Matplotlib labels a log axis that spans less than a decade with bare minor ticks such as
``2×10⁰`` or none at all; these helpers put plain numbers (``2``, ``2.5``, ``30k``) where a
reader wants them."""

from __future__ import annotations


def plain_number(value: float, _pos=None) -> str:
    """``25000`` → ``"25k"``, ``3e6`` → ``"3M"``, ``2.5`` → ``"2.5"``: short and exact enough to read."""
    for scale, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:g}{suffix}"
    return f"{value:g}"


def readable_log_axis(ax, which: str = "x", subs=(1.0, 2.0, 5.0), ticks=None) -> None:
    """Major ticks at ``subs`` × powers of ten (or at explicit ``ticks``), labelled as plain numbers;
    unlabelled minor ticks in between. ``which``: ``"x"``, ``"y"`` or ``"both"``."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullFormatter

    if which not in ("x", "y", "both"):
        raise ValueError(f"which must be 'x', 'y' or 'both', got {which!r}")
    for axis in [ax.xaxis, ax.yaxis] if which == "both" else [ax.xaxis if which == "x" else ax.yaxis]:
        locator = FixedLocator(list(ticks)) if ticks is not None else LogLocator(base=10, subs=subs)
        axis.set_major_locator(locator)
        axis.set_major_formatter(FuncFormatter(plain_number))
        axis.set_minor_formatter(NullFormatter())
