"""The one model check of adapters whose engine keeps the model's identity with the collection
(Qdrant collection metadata, the Milvus collection description, the OpenSearch mapping's `_meta`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from saevdb.adapters.base import ModelInfo

METADATA_KEY = "saevdb"  # the key the model's identity is stored under, in every engine


class ModelTagged(ABC):
    """Mixin: `check_model()` reads the stored model once, compares it with `self.model` and
    remembers the answer, except behind an alias, which can be switched to another model's
    collection at any time (then every call reads it again).

    Subclasses set `model` and `name` and implement `exists`, `_stored_model` (the dict written
    under `METADATA_KEY` at `recreate()`, or None) and `_aliased_to` (the collection `name`
    names when it is an alias, else None); `recreate()` sets `_checked`.
    """

    model: ModelInfo
    name: str
    _checked: bool = False

    @abstractmethod
    def exists(self) -> bool:
        """Whether the collection (or the alias) is there."""

    @abstractmethod
    def _stored_model(self) -> dict[str, Any] | None:
        """The model identity the engine holds for the collection."""

    @abstractmethod
    def _aliased_to(self) -> str | None:
        """The collection `name` names when it is an alias."""

    def check_model(self) -> None:
        if self._checked:
            return
        if not self.exists():
            raise ValueError(f"collection {self.name!r} does not exist: call recreate() first")
        self.model.check_same(self._stored_model(), self.name)
        self._checked = self._aliased_to() is None
