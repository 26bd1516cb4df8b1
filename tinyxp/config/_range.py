"""The values of a sweep's range(): a sequence that knows its size before making any value.

`seed=range(1e308)` describes more runs than any machine holds: the launcher counts
them (xp.max_runs) before it makes one, so a range makes its values one at a time.
"""
from __future__ import annotations

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any, Iterator


class Range:
    """range(start, stop, step) of ints, or of floats stepped exactly in decimal.

    `size` is how many values it has (possibly more than len() can return); values are
    made on indexing and iteration. Equal to a tuple or list of the same values.
    """

    def __init__(self, start: Any, stop: Any, step: Any) -> None:
        self.start, self.stop, self.step = start, stop, step
        self.is_int = all(isinstance(n, int) for n in (start, stop, step))
        if self.is_int:
            self.size = max(0, -((start - stop) // step))  # ceil((stop - start) / step)
            return
        import math  # with decimal, only for float ranges: decimal costs a few ms to import
        from decimal import Decimal

        # Decimal of the shortest repr, so that range(0, 0.3, 0.1) gives 0.1, 0.2, not 0.30000000000000004
        self._first, last, self._by = (Decimal(repr(float(n))) for n in (start, stop, step))
        self.size = max(0, math.ceil((last - self._first) / self._by))

    def __getitem__(self, index: int) -> Any:
        if not 0 <= index < self.size:
            raise IndexError("range index out of range")
        if self.is_int:
            return self.start + index * self.step
        return float(self._first + index * self._by)

    def __iter__(self) -> Iterator[Any]:
        return (self[index] for index in range(self.size))

    def __len__(self) -> int:
        return self.size  # OverflowError beyond sys.maxsize: count with .size

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Range):
            return (self.start, self.stop, self.step) == (other.start, other.stop, other.step)
        if isinstance(other, (tuple, list)):
            return len(other) == self.size and all(a == b for a, b in zip(self, other))
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))  # as the tuple it equals

    def __repr__(self) -> str:
        return f"range({self.start!r}, {self.stop!r}, {self.step!r})"
