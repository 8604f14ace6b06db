"""Shape checks at model boundaries: one helper, with axes named as in einops.

    dims = expect_shape(images, "b c h w", c=3, name="images")  # {"b": 8, "c": 3, "h": 16, "w": 16}

A model checks its inputs once, where they enter (its top-level ``forward``), so a wrong tensor
fails there with a message that names the tensor and the axis at fault,

    images: expected shape (b c=3 h w), got (8, 1, 16, 16): c is 1, not 3

instead of deep inside a matmul. Inner layers trust their callers and do not check again.
"""

from __future__ import annotations

import torch

from .errors import ShapeError


def expect_shape(x, spec: str, name: str = "x", **sizes: int | None) -> dict[str, int]:
    """Check that ``x`` is a tensor of shape ``spec``; return the size bound to each named axis.

    ``spec`` names the axes, separated by spaces: ``"b c h w"``. An axis is a name, or an integer
    for a size that never changes (``"b 2"``). Keyword arguments fix named sizes (``c=3``; None
    leaves the axis free), which also lets one call pass on what another bound:
    ``expect_shape(y, "b", b=dims["b"], name="labels")``. A name used twice must have the same
    size both times (``"b t t"``: square in t). Raises :class:`~genai_course.errors.ShapeError`.
    """
    axes = spec.split()
    fixed = {axis: size for axis, size in sizes.items() if size is not None}
    unknown = sorted(set(sizes) - set(axes))
    if unknown:  # a bug in the caller, not in the input: fail loudly rather than check nothing
        raise TypeError(f"expect_shape: {unknown} are not axes of {spec!r}")
    want = "(" + " ".join(f"{axis}={fixed[axis]}" if axis in fixed else axis for axis in axes) + ")"
    if not isinstance(x, torch.Tensor):
        raise ShapeError(f"{name}: expected a torch.Tensor of shape {want}, got {type(x).__name__}")
    got = tuple(x.shape)

    def wrong(why: str) -> ShapeError:
        return ShapeError(f"{name}: expected shape {want}, got {got}: {why}")

    if len(got) != len(axes):
        raise wrong(f"{len(got)} dims, not {len(axes)}")
    dims = dict(fixed)
    for i, (axis, size) in enumerate(zip(axes, got, strict=True)):
        if axis.isdigit():
            if size != int(axis):
                raise wrong(f"axis {i} is {size}, not {axis}")
        elif axis in fixed and size != fixed[axis]:
            raise wrong(f"{axis} is {size}, not {fixed[axis]}")
        elif axis in dims and size != dims[axis]:
            raise wrong(f"{axis} is both {dims[axis]} and {size}")
        dims[axis] = size
    return {axis: size for axis, size in dims.items() if not axis.isdigit()}
