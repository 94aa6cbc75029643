"""Images as vector sets, ViT patches, and a convolution built from attention.

Taught in the chapter *Self-attention for images*.

Conventions: an image is an array of shape ``(H, W, C)`` (rows, columns,
channels). Pixels and patches are numbered in row-major order, so pixel
``(r, c)`` is token ``r * W + c``. A convolution kernel has shape
``(K, K, C_in, C_out)`` and is applied as a cross-correlation (no kernel flip),
as in deep-learning libraries. Attention weights have shape
``(heads, queries, keys)`` with queries and keys both pixels.
"""
import numpy as np

from attnlib.softmax import masked_softmax, softmax


def image_to_pixel_vectors(image):
    """One token per pixel: (H, W, C) -> (H * W, C), row-major pixel order."""
    image = np.asarray(image)
    if image.ndim != 3:
        raise ValueError(f"expected an image of shape (H, W, C); got {image.shape}")
    height, width, channels = image.shape
    return image.reshape(height * width, channels)  # (H*W, C)


def pixel_vectors_to_image(pixels, height, width):
    """Inverse of image_to_pixel_vectors: (H * W, C) -> (H, W, C)."""
    pixels = np.asarray(pixels)
    return pixels.reshape(height, width, pixels.shape[-1])  # (H, W, C)


def image_to_patches(image, patch):
    """Cut an image into non-overlapping patch x patch squares, one token each.

    image: (H, W, C) with H and W multiples of ``patch``.
    Returns (num_patches, patch * patch * C) with num_patches = (H/patch) * (W/patch);
    patches are numbered row-major over the patch grid, and each patch is
    flattened row-major over its own pixels (channels fastest), as in ViT.
    """
    image = np.asarray(image)
    if image.ndim != 3:
        raise ValueError(f"expected an image of shape (H, W, C); got {image.shape}")
    height, width, channels = image.shape
    if patch < 1 or height % patch or width % patch:
        raise ValueError(
            f"image size {height}x{width} is not a multiple of the patch size {patch}: "
            "crop or pad the image first"
        )
    rows, cols = height // patch, width // patch
    grid = image.reshape(rows, patch, cols, patch, channels)  # (rows, p, cols, p, C)
    grid = grid.transpose(0, 2, 1, 3, 4)  # (rows, cols, p, p, C)
    return grid.reshape(rows * cols, patch * patch * channels)  # (num_patches, p*p*C)


def patches_to_image(patches, height, width, patch):
    """Inverse of image_to_patches: (num_patches, patch*patch*C) -> (H, W, C)."""
    patches = np.asarray(patches)
    rows, cols = height // patch, width // patch
    channels = patches.shape[-1] // (patch * patch)
    grid = patches.reshape(rows, cols, patch, patch, channels)  # (rows, cols, p, p, C)
    return grid.transpose(0, 2, 1, 3, 4).reshape(height, width, channels)  # (H, W, C)


def conv2d_valid_loops(image, kernel, bias=None):
    """Direct 2-D convolution (cross-correlation), 'valid' borders, written as loops.

    image: (H, W, C_in); kernel: (K, K, C_in, C_out); bias: None or (C_out,).
    out[i, j, o] = bias[o] + sum_{a, b, c} image[i + a, j + b, c] * kernel[a, b, c, o].
    Returns (H - K + 1, W - K + 1, C_out). Slow on purpose: it is the reference.
    """
    height, width, c_in = image.shape
    size, _, k_in, c_out = kernel.shape
    if k_in != c_in:
        raise ValueError(f"kernel expects {k_in} input channels, image has {c_in}")
    out = np.zeros((height - size + 1, width - size + 1, c_out))
    for i in range(height - size + 1):
        for j in range(width - size + 1):
            for o in range(c_out):
                total = 0.0 if bias is None else bias[o]
                for a in range(size):
                    for b in range(size):
                        for c in range(c_in):
                            total += image[i + a, j + b, c] * kernel[a, b, c, o]
                out[i, j, o] = total
    return out


def kernel_shifts(kernel_size):
    """The K*K pixel shifts of a K x K kernel, row-major, relative to its centre.

    Returns an int array (K*K, 2) of (row shift, column shift); for K = 3 it runs
    (-1, -1), (-1, 0), (-1, 1), (0, -1), ..., (1, 1). Shift h belongs to kernel
    entry kernel[h // K, h % K].
    """
    half = kernel_size // 2
    steps = np.arange(kernel_size) - half  # (K,)
    rows, cols = np.meshgrid(steps, steps, indexing="ij")  # (K, K) each
    return np.stack([rows.ravel(), cols.ravel()], axis=1)  # (K*K, 2)


def relative_positions(height, width):
    """delta[q, k] = position of key pixel k minus position of query pixel q.

    Returns an int array (H*W, H*W, 2) of (row, column) differences.
    """
    rows, cols = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    positions = np.stack([rows.ravel(), cols.ravel()], axis=1)  # (n, 2)
    return positions[None, :, :] - positions[:, None, :]  # (n, n, 2)


def shift_selection_mask(height, width, shift):
    """Boolean (H*W, H*W): True where key pixel = query pixel + shift.

    Each query row has exactly one True, except near the border where
    query + shift falls outside the image (then the row is all False).
    """
    delta = relative_positions(height, width)  # (n, n, 2)
    return np.all(delta == np.asarray(shift), axis=-1)  # (n, n)


def quadratic_relative_encoding(height, width):
    """The quadratic relative encoding r_delta = (|delta|^2, delta_1, delta_2).

    Cordonnier, Loukas & Jaggi (2020), eq. (9). Returns (H*W, H*W, 3).
    """
    delta = relative_positions(height, width).astype(float)  # (n, n, 2)
    squared = (delta ** 2).sum(axis=-1, keepdims=True)  # (n, n, 1)
    return np.concatenate([squared, delta], axis=-1)  # (n, n, 3)


def quadratic_head_vector(shift, alpha):
    """The head's positional query v = -alpha * (1, -2 shift_1, -2 shift_2).

    Its score with r_delta is -alpha * (|delta - shift|^2 - |shift|^2): largest
    (and, for large alpha, dominant) at delta = shift. Returns (3,).
    """
    shift = np.asarray(shift, dtype=float)
    return -alpha * np.array([1.0, -2.0 * shift[0], -2.0 * shift[1]])  # (3,)


def conv_as_attention_weights(height, width, kernel_size, alpha=None):
    """Attention weights of the K*K heads that together act as a K x K convolution.

    Head h attends to the pixel at kernel_shifts(kernel_size)[h] from its query.
    alpha=None: hard selection (a one-key masked softmax: weight exactly 1 on the
    shifted pixel, 0 elsewhere; rows whose shifted pixel lies outside get all 0).
    alpha > 0: softmax of the quadratic relative scores -alpha |delta - shift|^2
    (no content term: W_q = W_k = 0), which tends to the hard selection as alpha grows.
    Returns (K*K, H*W, H*W).
    """
    shifts = kernel_shifts(kernel_size)  # (heads, 2)
    n = height * width
    weights = np.zeros((len(shifts), n, n))
    if alpha is None:
        for head, shift in enumerate(shifts):
            keep = shift_selection_mask(height, width, shift)  # (n, n)
            weights[head] = masked_softmax(np.zeros((1, n, n)), mask=keep[None])[0]
        return weights
    encoding = quadratic_relative_encoding(height, width)  # (n, n, 3)
    for head, shift in enumerate(shifts):
        scores = encoding @ quadratic_head_vector(shift, alpha)  # (n, n)
        weights[head] = softmax(scores)  # (n, n)
    return weights


def conv_kernel_to_output_projection(kernel):
    """Stack the K*K kernel slices into the output projection W_O of the heads.

    kernel: (K, K, C_in, C_out). Head h (shift kernel_shifts(K)[h]) owns rows
    h*C_in:(h+1)*C_in of W_O, which hold kernel[h // K, h % K]. Returns (K*K*C_in, C_out).
    """
    size, _, c_in, c_out = kernel.shape
    return kernel.reshape(size * size * c_in, c_out)  # (heads*C_in, C_out)


def multihead_attention_from_weights(pixels, weights, W_out, bias=None):
    """Multi-head attention with given weights and identity value projections.

    pixels: (n, C_in); weights: (heads, n, n); W_out: (heads*C_in, C_out).
    Head h outputs weights[h] @ pixels (W_v = I); the heads are concatenated
    and projected: concat_h(A_h X) W_out (+ bias). Returns (n, C_out).
    """
    heads, n, _ = weights.shape
    head_outputs = weights @ pixels[None]  # (heads, n, C_in)
    concatenated = head_outputs.transpose(1, 0, 2).reshape(n, -1)  # (n, heads*C_in)
    out = concatenated @ W_out  # (n, C_out)
    return out if bias is None else out + bias
