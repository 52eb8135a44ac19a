"""Signal processing of the lab pipeline (numpy only).

The "acquisition system" is simulated: :func:`simulate_trace` produces the
voltage trace an electrode would record in a session (a few neurons with
their own spike shapes and rates, plus noise), deterministically from the
session's key, so the demo needs no raw-data files.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
from numpy.typing import NDArray

F32 = NDArray[np.float32]


def seed_of(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256(repr(parts).encode()).digest()[:8], "little")


def simulate_trace(seed: int, fs: float, duration: float, n_neurons: int = 3) -> F32:
    """Noise (20 uV rms) plus spikes of ``n_neurons`` neurons with distinct waveforms."""
    rng = np.random.default_rng(seed)
    n = int(fs * duration)
    trace = rng.normal(0.0, 20.0, n)
    t = np.arange(int(0.002 * fs)) / fs
    for i in range(n_neurons):
        amplitude = 120.0 + 90.0 * i + rng.uniform(-10, 10)
        rate = rng.uniform(3.0, 15.0)
        shape = -amplitude * np.exp(-((t - 0.0005) ** 2) / (2 * 0.00015**2)) + 0.3 * amplitude * np.exp(
            -((t - 0.0011) ** 2) / (2 * 0.0003**2)
        )
        times = np.cumsum(rng.exponential(1.0 / rate, int(rate * duration * 2) + 10))
        times = times[times < duration - 0.003]
        for s in (times * fs).astype(np.int64):
            trace[s : s + len(shape)] += shape
    return trace.astype(np.float32)


def band_filter(trace: F32, fs: float, kind: str, low: float | None, high: float | None, order: int) -> F32:
    """Zero-phase Butterworth-magnitude filter applied in the frequency domain."""
    spectrum = np.fft.rfft(trace.astype(np.float64))
    f = np.fft.rfftfreq(len(trace), 1.0 / fs)
    gain = np.ones_like(f)
    if kind in ("bandpass", "highpass") and low:
        gain *= 1.0 / np.sqrt(1.0 + (low / np.maximum(f, 1e-9)) ** (2 * order))
    if kind in ("bandpass", "lowpass") and high:
        gain *= 1.0 / np.sqrt(1.0 + (f / high) ** (2 * order))
    return np.fft.irfft(spectrum * gain, n=len(trace)).astype(np.float32)


def mad(x: NDArray[Any]) -> float:
    return float(np.median(np.abs(x - np.median(x))))


def detect(filtered: F32, fs: float, threshold_uv: float, dead_ms: float) -> NDArray[np.int64]:
    """Sample indices of negative threshold crossings, at least ``dead_ms`` apart (at the trough)."""
    below = filtered < -threshold_uv
    starts = np.flatnonzero(below & ~np.concatenate(([False], below[:-1])))
    dead = int(dead_ms * fs / 1000.0)
    window = max(1, int(0.0005 * fs))
    peaks: list[int] = []
    for s in starts:
        trough = int(s + np.argmin(filtered[s : s + window]))
        if not peaks or trough - peaks[-1] >= dead:
            peaks.append(trough)
    return np.asarray(peaks, dtype=np.int64)


def cluster_amplitudes(amplitudes: NDArray[np.float64], max_units: int, gap_uv: float = 25.0) -> NDArray[np.int64]:
    """Unit labels (0 = largest amplitude) for spike peak amplitudes; -1 for unassigned.

    Amplitudes are sorted and split wherever two neighbours are more than
    ``gap_uv`` apart; clusters of fewer than 3 spikes are left unassigned and
    at most ``max_units`` of the largest-amplitude clusters are kept.
    """
    labels = np.full(len(amplitudes), -1, dtype=np.int64)
    if len(amplitudes) == 0:
        return labels
    order = np.argsort(-amplitudes)
    ordered = amplitudes[order]
    breaks = np.flatnonzero(np.abs(np.diff(ordered)) > gap_uv) + 1
    unit = 0
    for group in np.split(np.arange(len(ordered)), breaks):
        if len(group) < 3 or unit >= max_units:
            continue
        labels[order[group]] = unit
        unit += 1
    return labels
