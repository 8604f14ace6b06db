"""Attention-map figures."""

from __future__ import annotations


def plot_attention_maps(
    maps,
    titles,
    xlabels=None,
    ylabels=None,
    suptitle: str | None = None,
    colorbar: bool = True,
    colorbar_label: str = "attention weight",
):
    """Heat maps of (q k) attention weights side by side. ``maps``: list of 2-D arrays/tensors.

    Every panel shares the colour scale 0–1 (a weight is a probability), so one colour bar,
    labelled ``colorbar_label``, serves them all."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(maps), figsize=(2.6 * len(maps) + (0.6 if colorbar else 0), 2.8), squeeze=False)
    image = None
    for ax, weights, title in zip(axes[0], maps, titles, strict=False):
        w = weights.detach().cpu().numpy() if hasattr(weights, "detach") else weights
        image = ax.imshow(w, cmap="viridis", vmin=0, vmax=1)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("key", fontsize=8)
        ax.set_ylabel("query", fontsize=8)
        if xlabels is not None:
            ax.set_xticks(range(len(xlabels)), xlabels, fontsize=7)
        if ylabels is not None:
            ax.set_yticks(range(len(ylabels)), ylabels, fontsize=7)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    fig.tight_layout()
    if colorbar and image is not None:
        bar = fig.colorbar(image, ax=list(axes[0]), fraction=0.04, pad=0.02)
        bar.set_label(colorbar_label, fontsize=8)
        bar.ax.tick_params(labelsize=7)
    return fig


def plot_attention_overlays(
    images, weights, titles, size: float = 1.7, colorbar_label: str = "share of attention", show_plain: bool = True
):
    """Images (b 3 h w) in [0, 1] with a patch-attention grid (b gh gw) drawn over each.

    The attention is a translucent heat map stretched over the image (each cell covers its
    patch), on one colour scale from 0 to the largest weight shown, with a labelled colour bar.
    The tint changes the image's colours, so with ``show_plain`` a first row shows the images
    as they are, the overlays below them.
    """
    import matplotlib.pyplot as plt
    import numpy as np

    imgs = images.detach().cpu().permute(0, 2, 3, 1).clamp(0, 1).numpy()
    w = weights.detach().cpu().numpy() if hasattr(weights, "detach") else np.asarray(weights)
    if w.ndim != 3 or len(w) != len(imgs):
        raise ValueError(f"weights must be (b gh gw) with b={len(imgs)}, got shape {w.shape}")
    n_rows = 2 if show_plain else 1
    fig, axes = plt.subplots(n_rows, len(imgs), figsize=(size * len(imgs) + 0.8, size * n_rows + 0.6), squeeze=False)
    vmax = float(w.max())
    heat = None
    for j, (img, grid, title) in enumerate(zip(imgs, w, titles, strict=False)):
        h, wd = img.shape[:2]
        for ax in axes[:, j]:
            ax.imshow(img, extent=(0, wd, h, 0))
            ax.set_xticks([])
            ax.set_yticks([])
        heat = axes[-1, j].imshow(grid, cmap="magma", alpha=0.55, vmin=0, vmax=vmax, extent=(0, wd, h, 0))
        axes[0, j].set_title(title, fontsize=8)
    if show_plain:
        axes[0, 0].set_ylabel("image", fontsize=8)
        axes[1, 0].set_ylabel("attention", fontsize=8)
    fig.tight_layout()
    bar = fig.colorbar(heat, ax=list(axes[-1]), fraction=0.03, pad=0.02)
    bar.set_label(colorbar_label, fontsize=8)
    bar.ax.tick_params(labelsize=7)
    return fig
