"""The one plotting helper for attention heatmaps, used by every chapter."""
import matplotlib.pyplot as plt
import numpy as np

# Perceptually uniform and readable by colour-blind readers.
ATTENTION_CMAP = "viridis"
# The book's text column holds about 7 inches of figure (at matplotlib's 100 dpi);
# a wider figure is shrunk to fit, and its labels with it.
MAX_FIGURE_WIDTH = 7.2  # inches


def show_heatmaps(matrices, xlabel="keys", ylabel="queries", titles=None,
                  suptitle=None, ncols=None, cell_size=2.4, vmin=0.0, vmax=None,
                  cmap=ATTENTION_CMAP, colorbar=True):
    """Draw one or more attention matrices side by side on a shared colour scale.

    matrices: (rows, cols) for one map, or (maps, rows, cols) for several.
    Rows are queries and columns keys, as in the weight matrices of the book.
    cell_size is the side of one map in inches; it shrinks when `ncols` maps
    would make the figure wider than MAX_FIGURE_WIDTH.
    Returns the matplotlib Figure.
    """
    matrices = np.asarray(matrices, dtype=float)
    if matrices.ndim == 2:
        matrices = matrices[None]
    if matrices.ndim != 3:
        raise ValueError(f"expected (rows, cols) or (maps, rows, cols); got {matrices.shape}")
    count = len(matrices)
    ncols = ncols or min(count, 4)
    nrows = int(np.ceil(count / ncols))
    vmax = matrices.max() if vmax is None else vmax
    colorbar_width = 0.8 if colorbar else 0.0
    cell_size = min(cell_size, (MAX_FIGURE_WIDTH - colorbar_width) / ncols)
    # Wide matrices (few queries, many keys) get flatter panels, not square ones.
    aspect = np.clip(matrices.shape[1] / matrices.shape[2], 0.3, 1.0)
    fig, axes = plt.subplots(nrows, ncols, squeeze=False, constrained_layout=True,
                             figsize=(cell_size * ncols + colorbar_width,
                                      (cell_size * aspect + 0.6) * nrows))
    for index, ax in enumerate(axes.flat):
        if index >= count:
            ax.axis("off")
            continue
        image = ax.imshow(matrices[index], cmap=cmap, vmin=vmin, vmax=vmax)
        if titles is not None:
            ax.set_title(titles[index], fontsize="medium")
        if index // ncols == nrows - 1:
            ax.set_xlabel(xlabel)
        if index % ncols == 0:
            ax.set_ylabel(ylabel)
    if colorbar:
        fig.colorbar(image, ax=axes, shrink=0.8, label="weight")
    if suptitle:
        fig.suptitle(suptitle)
    return fig
