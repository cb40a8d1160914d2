"""A tiny, reversible monkey-patch registry.

Every behaviour change of the emulator is one named ``Patch`` of one attribute of one moto class.
Keeping them as data lets ``install()`` / ``uninstall()`` be idempotent and lets a test prove that
``uninstall()`` restores moto exactly (the original attribute object is put back, or removed
again when it was only inherited).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

_MISSING = object()


@dataclass
class Patch:
    """Replace ``owner.<name>`` by ``factory(original)`` while applied.

    ``factory`` receives the attribute as found on the class (``getattr``), so a wrapper can call
    through to moto's own implementation.
    """

    owner: type
    name: str
    factory: Callable[[Any], Any]
    why: str
    _saved: Any = field(default=_MISSING, repr=False)
    applied: bool = False

    def apply(self) -> None:
        if self.applied:
            return
        self._saved = self.owner.__dict__.get(self.name, _MISSING)
        original = getattr(self.owner, self.name)
        setattr(self.owner, self.name, self.factory(original))
        self.applied = True

    def restore(self) -> None:
        if not self.applied:
            return
        if self._saved is _MISSING:
            delattr(self.owner, self.name)
        else:
            setattr(self.owner, self.name, self._saved)
        self._saved = _MISSING
        self.applied = False


class PatchSet:
    """A group of patches applied and restored together (thread-safe, idempotent)."""

    def __init__(self, patches: Iterable[Patch]) -> None:
        self.patches = list(patches)
        self._lock = threading.Lock()

    @property
    def applied(self) -> bool:
        return any(p.applied for p in self.patches)

    def apply(self) -> None:
        with self._lock:
            for patch in self.patches:
                patch.apply()

    def restore(self) -> None:
        with self._lock:
            for patch in reversed(self.patches):
                patch.restore()
