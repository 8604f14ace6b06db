"""Attention-map figures."""

from __future__ import annotations


def plot_attention_maps(maps, titles, xlabels=None, ylabels=None, suptitle: str | None = None):
    """Heat maps of (q k) attention weights side by side. ``maps``: list of 2-D arrays/tensors."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(maps), figsize=(2.6 * len(maps), 2.8), squeeze=False)
    for ax, weights, title in zip(axes[0], maps, titles, strict=False):
        w = weights.detach().cpu().numpy() if hasattr(weights, "detach") else weights
        ax.imshow(w, cmap="viridis", vmin=0, vmax=1)
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
    return fig
