"""Progress for long CLI work: rich bars and spinners when rich is installed (the `cli` extra), plain
lines otherwise. Everything goes to stderr so stdout keeps only the results."""

import sys
import time
from contextlib import contextmanager
from typing import Iterable, Iterator, TypeVar

T = TypeVar("T")


def _rich_console():
    """A rich console on stderr when rich is installed and stderr is a terminal (in a log file, rich's
    live bars leave nothing; plain lines do)."""
    try:
        from rich.console import Console
    except ImportError:
        return None
    console = Console(stderr=True)
    return console if console.is_terminal else None


def track(items: Iterable[T], description: str) -> Iterator[T]:
    """Yields items while a progress bar advances (one line per item without rich)."""
    items = list(items)
    console = _rich_console()
    if console is not None:
        from rich.progress import track as rich_track

        yield from rich_track(items, description=description, console=console)
        return
    for index, item in enumerate(items, 1):
        print(f"{description} {index}/{len(items)}", file=sys.stderr)
        yield item


@contextmanager
def status(description: str) -> Iterator[None]:
    """A spinner with the elapsed time around work that reports no steps (a subprocess)."""
    console = _rich_console()
    if console is not None:
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console,
                      transient=True) as progress:
            progress.add_task(description, total=None)
            yield
        return
    start = time.monotonic()
    print(f"{description} ...", file=sys.stderr)
    yield
    print(f"{description}: done in {time.monotonic() - start:.0f} s", file=sys.stderr)
