"""Timing: CUDA events around each repetition, L2 flushed in between, median reported."""

import statistics
import time
from typing import Callable, Dict, List

import torch


class L2Flusher:
    """Overwrites a buffer twice the size of the device's L2 so every repetition starts cold."""

    def __init__(self, device: torch.device):
        l2_bytes = torch.cuda.get_device_properties(device).L2_cache_size
        self.buffer = torch.empty(max(2 * l2_bytes, 1 << 20), dtype=torch.int8, device=device)

    def flush(self) -> None:
        self.buffer.zero_()


def summarize(times_ms: List[float]) -> Dict[str, float]:
    ordered = sorted(times_ms)
    return {
        "median_ms": statistics.median(ordered),
        "min_ms": ordered[0],
        "p10_ms": ordered[len(ordered) // 10],
        "p90_ms": ordered[(9 * len(ordered)) // 10],
        "reps": len(ordered),
    }


# GPU cycles of busy-waiting queued between the L2 flush and each start event (about 0.1 ms): the
# host enqueues the event and fn() meanwhile, so the events time fn()'s device work, not the host's
# launch overhead. Without it, ~40 us kernels (bmm tiny64) measured 0.040-0.080 ms from run to run,
# the spread of the host time of the call in front of them.
HOST_HEADSTART_CYCLES = 200_000


def cuda_times_ms(fn: Callable[[], object], *, reps: int = 50, warmup: int = 5, flush: bool = True,
                  device=None) -> List[float]:
    """Per-repetition device times of fn() (ms), each measured with events, L2 flushed before each.
    `device` is where fn() runs (default: the current device)."""
    device = torch.device(device or "cuda")
    flusher = L2Flusher(device) if flush else None
    for _ in range(warmup):
        fn()
    starts = [torch.cuda.Event(enable_timing=True) for _ in range(reps)]
    ends = [torch.cuda.Event(enable_timing=True) for _ in range(reps)]
    # Events and the busy-wait go to the current stream of the current device: make that fn()'s device
    # (timing cuda:1 work from cuda:0 would otherwise record both events on cuda:0 and measure nothing).
    with torch.cuda.device(device):
        for start, end in zip(starts, ends):
            if flusher:
                flusher.flush()
            torch.cuda._sleep(HOST_HEADSTART_CYCLES)
            start.record()
            fn()
            end.record()
        torch.cuda.synchronize(device)
    return [start.elapsed_time(end) for start, end in zip(starts, ends)]


def cpu_times_ms(fn: Callable[[], object], *, reps: int = 10, warmup: int = 2) -> List[float]:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return times


def time_ms(fn: Callable[[], object], device: torch.device, *, reps: int = 50, warmup: int = 5) -> Dict[str, float]:
    """Median-centred summary of fn()'s time on `device` (CUDA: events + L2 flush; CPU: wall clock)."""
    if device.type == "cuda":
        return summarize(cuda_times_ms(fn, reps=reps, warmup=warmup, device=device))
    return summarize(cpu_times_ms(fn, reps=max(3, reps // 5), warmup=min(warmup, 2)))
