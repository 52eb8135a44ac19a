"""Throughput of the blob codec on 8 MB arrays, next to writing and reading the raw bytes.

Run:  python bench/bench_blob.py [--repeat N]

For each array it prints the median time and throughput (MB of array data per second) of

* raw write ``arr.tobytes()`` and raw read ``np.frombuffer(raw)`` (a read-only view, no copy),
  and the raw read that yields a writable array, ``np.frombuffer(raw).copy()``;
* ``blob.encode(arr)`` and ``blob.decode(blob)`` (decoded arrays are writable copies);
* the round trips, and speed ratios blob / raw (1.0 = as fast, 0.5 = half as fast).

A round trip keeps two 8 MB buffers alive (the blob and the decoded array, or the raw bytes and
their writable copy); on some machines the allocator then returns the memory to the kernel on
every iteration and page faults dominate the time. Compare the single operations as well.

This is a script, not a test: numbers depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np

from relflow_gen.runtime.blob import decode, encode

N = 1 << 20  # 8 MB of float64


def arrays() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    t = np.linspace(0.0, 200.0 * np.pi, N)
    walk = np.cumsum(rng.integers(-3, 4, size=4 * N), dtype=np.int64)
    return {
        "random float64": rng.random(N),
        "zeros float64": np.zeros(N),
        "smooth float64 (sine)": np.sin(t) * 1e3,
        "random-walk int16": (walk % 30000).astype(np.int16),
        "image-like uint8": (np.add.outer(np.arange(2048), np.arange(4096)) // 64 % 256).astype(np.uint8),
    }


def median_seconds(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30, help="timed runs per measurement (median reported)")
    args = parser.parse_args()

    print(f"numpy {np.__version__}; medians of {args.repeat} runs; MB/s of array data (1 MB = 1e6 bytes)\n")
    head = f"{'array':24} {'operation':34} {'ms':>8} {'MB/s':>8}"
    for name, arr in arrays().items():
        raw = arr.tobytes()
        blob = encode(arr)
        back = decode(blob)
        assert isinstance(back, np.ndarray) and back.dtype == arr.dtype and np.array_equal(back, arr)
        mb = arr.nbytes / 1e6
        rows = {
            "raw write  tobytes": lambda: arr.tobytes(),
            "raw read   frombuffer (view)": lambda: np.frombuffer(raw, arr.dtype),
            "raw read   frombuffer + copy": lambda: np.frombuffer(raw, arr.dtype).copy(),
            "raw round trip (view)": lambda: np.frombuffer(arr.tobytes(), arr.dtype),
            "raw round trip (writable)": lambda: np.frombuffer(arr.tobytes(), arr.dtype).copy(),
            "blob encode": lambda: encode(arr),
            "blob decode": lambda: decode(blob),
            "blob round trip": lambda: decode(encode(arr)),
        }
        print(
            f"{name}: {arr.dtype}, {arr.nbytes / 1e6:.1f} MB -> blob {len(blob) / 1e6:.3f} MB "
            f"({'zlib' if blob[5] == 1 else 'stored'}, {len(blob) / arr.nbytes:.1%})"
        )
        print(head)
        seconds = {}
        for label, fn in rows.items():
            seconds[label] = median_seconds(fn, args.repeat)
            print(f"{'':24} {label:34} {seconds[label] * 1e3:8.2f} {mb / seconds[label]:8.0f}")
        ratios = {
            "encode / tobytes": ("raw write  tobytes", "blob encode"),
            "decode / frombuffer + copy": ("raw read   frombuffer + copy", "blob decode"),
            "round trip / raw (view)": ("raw round trip (view)", "blob round trip"),
            "round trip / raw (writable)": ("raw round trip (writable)", "blob round trip"),
        }
        for label, (base, ours) in ratios.items():
            print(f"{'':24} {'speed ratio ' + label:34} {seconds[base] / seconds[ours]:8.2f}")
        print()


if __name__ == "__main__":
    main()
