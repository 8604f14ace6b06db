"""Grids of small images (digits, shape scenes, faces, samples)."""

from __future__ import annotations


def show_image_grid(
    images, nrow: int = 8, titles=None, title: str | None = None, cmap: str = "gray", size: float = 0.9
):
    """Show images (b h w) or (b c h w), values in [0, 1], in a grid with ``nrow`` per row."""
    import matplotlib.pyplot as plt
    import numpy as np

    arr = images.detach().cpu().numpy() if hasattr(images, "detach") else np.asarray(images)
    if arr.ndim == 4:
        arr = arr[:, 0] if arr.shape[1] == 1 else arr.transpose(0, 2, 3, 1)
    n = len(arr)
    ncol = min(nrow, n)
    rows = (n + ncol - 1) // ncol
    fig, axes = plt.subplots(rows, ncol, figsize=(size * ncol, size * rows + (0.3 if title else 0)), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(np.clip(arr[i], 0, 1), cmap=cmap if arr[i].ndim == 2 else None, vmin=0, vmax=1)
            if titles is not None:
                ax.set_title(str(titles[i]), fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
