"""Numerical work of the fractals pipeline (numpy only): escape times, colours, PNG."""

from __future__ import annotations

import struct
import zlib
from typing import Any

import numpy as np
from numpy.typing import NDArray


def escape_time(
    kind: str,
    center: complex,
    view_width: float,
    size: tuple[int, int],
    *,
    c: complex | None,
    exponent: int,
    max_iter: int,
    escape_radius: float,
) -> tuple[NDArray[np.uint16], NDArray[np.float32]]:
    """Iteration counts (escape time, max_iter inside) and smooth counts (NaN inside)."""
    width, height = size
    view_height = view_width * height / width
    re = np.linspace(center.real - view_width / 2, center.real + view_width / 2, width)
    im = np.linspace(center.imag + view_height / 2, center.imag - view_height / 2, height)
    grid = re[np.newaxis, :] + 1j * im[:, np.newaxis]
    if kind == "julia":
        z = grid.copy()
        cc = np.full_like(grid, c if c is not None else 0j)
    else:
        z = np.zeros_like(grid)
        cc = grid
    iterations = np.full(grid.shape, max_iter, dtype=np.uint16)
    smooth = np.full(grid.shape, np.nan, dtype=np.float32)
    alive = np.ones(grid.shape, dtype=bool)
    r2 = escape_radius * escape_radius
    for n in range(max_iter):
        za = z[alive]
        if kind == "burning_ship":
            za = np.abs(za.real) + 1j * np.abs(za.imag)
        za = za**exponent + cc[alive]
        z[alive] = za
        escaped = (za.real * za.real + za.imag * za.imag) > r2
        if escaped.any():
            idx = np.flatnonzero(alive)[escaped]
            rows, cols = np.unravel_index(idx, grid.shape)
            iterations[rows, cols] = n
            mag = np.abs(za[escaped])
            nu = np.log(np.log(mag) / np.log(escape_radius)) / np.log(exponent)
            smooth[rows, cols] = (n + 1 - nu).astype(np.float32)
            alive[rows, cols] = False
        if not alive.any():
            break
    return iterations, smooth


# A few colour maps as anchor colours, interpolated linearly (close to matplotlib's).
_ANCHORS: dict[str, list[tuple[int, int, int]]] = {
    "viridis": [(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)],
    "magma": [(0, 0, 4), (81, 18, 124), (183, 55, 121), (252, 137, 97), (252, 253, 191)],
    "gray": [(0, 0, 0), (255, 255, 255)],
    "twilight": [(226, 217, 226), (94, 128, 182), (47, 20, 54), (182, 92, 72), (226, 217, 226)],
}


def colormap(name: str) -> NDArray[np.uint8]:
    """A 256-entry RGB lookup table."""
    anchors = np.array(_ANCHORS.get(name, _ANCHORS["gray"]), dtype=np.float64)
    x = np.linspace(0, 1, len(anchors))
    t = np.linspace(0, 1, 256)
    lut = np.stack([np.interp(t, x, anchors[:, i]) for i in range(3)], axis=1)
    return np.round(lut).astype(np.uint8)


def render(smooth: NDArray[np.float32], name: str, cyclic: bool) -> NDArray[np.uint8]:
    """Colour a smooth-count image; points inside the set are black."""
    lut = colormap(name)
    inside = np.isnan(smooth)
    values = np.where(inside, 0.0, smooth).astype(np.float64)
    if cyclic:
        t = (values % 32.0) / 32.0
    else:
        finite = values[~inside]
        hi = float(np.percentile(finite, 99)) if finite.size else 1.0
        t = np.clip(values / max(hi, 1e-9), 0, 1)
    rgb: NDArray[np.uint8] = lut[np.minimum((t * 255).astype(np.int64), 255)]
    rgb[inside] = 0
    return rgb


def png(rgb: NDArray[np.uint8]) -> bytes:
    """Encode an (h, w, 3) uint8 image as PNG (no filter, zlib level 6)."""
    height, width, _ = rgb.shape
    raw = np.zeros((height, width * 3 + 1), dtype=np.uint8)
    raw[:, 1:] = rgb.reshape(height, width * 3)

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw.tobytes(), 6)) + chunk(b"IEND", b"")


def block_average(rgb: NDArray[np.uint8], height: int) -> NDArray[np.uint8]:
    """Shrink an image to ``height`` rows by averaging blocks (aspect ratio kept)."""
    h, w, _ = rgb.shape
    step = max(1, h // height)
    new_h, new_w = h // step, w // step
    cropped = rgb[: new_h * step, : new_w * step].astype(np.float64)
    small = cropped.reshape(new_h, step, new_w, step, 3).mean(axis=(1, 3))
    out: NDArray[np.uint8] = np.round(small).astype(np.uint8)
    return out


def boundary(iterations: NDArray[np.uint16], max_iter: int) -> NDArray[np.bool_]:
    """Pixels inside the set with at least one neighbour outside it."""
    inside = iterations >= max_iter
    padded = np.pad(inside, 1, mode="edge")
    outside_near = np.zeros_like(inside)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy or dx:
                outside_near |= ~padded[1 + dy : 1 + dy + inside.shape[0], 1 + dx : 1 + dx + inside.shape[1]]
    return inside & outside_near


def box_counts(mask: NDArray[np.bool_]) -> list[tuple[int, int]]:
    """(box size, number of boxes containing a True pixel) for power-of-two box sizes."""
    out = []
    size = 1
    h, w = mask.shape
    while size <= min(h, w) // 4:
        bh, bw = h // size, w // size
        blocks = mask[: bh * size, : bw * size].reshape(bh, size, bw, size).any(axis=(1, 3))
        out.append((size, int(blocks.sum())))
        size *= 2
    return out


def entropy(values: NDArray[Any]) -> float:
    _, counts = np.unique(values, return_counts=True)
    p = counts / counts.sum()
    return float(-(p * np.log2(p)).sum())
