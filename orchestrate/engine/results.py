"""Task and flow results kept on disk, for caching and `persist_result`.

One file per key under `.orc/results/`, user-only (0600), written atomically:
a one-line JSON header (serializer, expiry) and the serialized value, so an
expired entry is recognised without unpickling it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrate.core.errors import MissingResult

_SAFE_KEY = re.compile(r"^[A-Za-z0-9_.-]{1,120}$")
SERIALIZERS = ("cloudpickle", "pickle", "json")


@dataclass(frozen=True, slots=True)
class CachedResult:
    value: Any
    created: float


class ResultStore:
    """Reads and writes results under one folder, created on first write."""

    def __init__(self, folder: Path | None = None) -> None:
        self._folder = folder

    @property
    def folder(self) -> Path:
        if self._folder is None:
            from orchestrate.core.project import project_root, results_dir

            self._folder = results_dir(project_root())
        return self._folder

    def write(
        self, key: str, value: Any, serializer: str = "cloudpickle", expires: float | None = None
    ) -> Path:
        """Persist `value` under `key`; `expires` is an epoch time after which it is stale."""
        payload = _dumps(value, serializer)
        header = json.dumps({"serializer": serializer, "expires": expires, "created": time.time()})
        folder = self.folder
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = folder / _filename(key)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as file:
            file.write(header.encode() + b"\n" + payload)
        os.replace(temporary, path)
        return path

    def read(self, key: str, now: float | None = None) -> CachedResult | None:
        """The value under `key`, or None if there is none or it has expired."""
        path = self.folder / _filename(key)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        header_line, _, payload = data.partition(b"\n")
        try:
            header = json.loads(header_line)
        except ValueError:
            return None
        expires = header.get("expires")
        if expires is not None and (now or time.time()) >= expires:
            return None
        try:
            value = _loads(payload, header.get("serializer", "cloudpickle"))
        except Exception as exc:
            raise MissingResult(
                f"The result stored at {path} could not be read ({type(exc).__name__}: {exc}). "
                "Delete the file (or run with refresh_cache=True) to compute it again."
            ) from exc
        return CachedResult(value, header.get("created", 0.0))


def _filename(key: str) -> str:
    if _SAFE_KEY.match(key):
        return key
    return hashlib.sha256(key.encode()).hexdigest()


def _dumps(value: Any, serializer: str) -> bytes:
    if serializer == "json":
        return json.dumps(value).encode()
    if serializer == "pickle":
        import pickle

        return pickle.dumps(value)
    import cloudpickle

    return bytes(cloudpickle.dumps(value))


def _loads(payload: bytes, serializer: str) -> Any:
    if serializer == "json":
        return json.loads(payload)
    import pickle

    return pickle.loads(payload)
