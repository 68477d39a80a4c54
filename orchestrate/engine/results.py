"""Task and flow results kept on disk, for caching and `persist_result`.

One file per key under `.orc/results/` (or the folder a `result_storage`
names), user-only (0600), written atomically: a one-line JSON header
(serializer, expiry) and the serialized value, so an expired entry is
recognised without unpickling it.
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
#: Prefect's "compressed/…" are lzma over its "pickle" (cloudpickle) or "json".
_COMPRESSED = {"compressed/pickle": "cloudpickle", "compressed/json": "json"}
SERIALIZERS = ("cloudpickle", "pickle", "json", *_COMPRESSED)
#: How a file written with a serializer object (one with `dumps` and `loads`) is marked.
_OBJECT = "object"


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
        self, key: str, value: Any, serializer: Any = "cloudpickle", expires: float | None = None
    ) -> Path:
        """Persist `value` under `key`; `expires` is an epoch time after which it is stale."""
        payload = _dumps(value, serializer)
        named = serializer if isinstance(serializer, str) else _OBJECT
        header = json.dumps({"serializer": named, "expires": expires, "created": time.time()})
        folder = self.folder
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = folder / _filename(key)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as file:
            file.write(header.encode() + b"\n" + payload)
        os.replace(temporary, path)
        return path

    def read(
        self, key: str, now: float | None = None, serializer: Any = None
    ) -> CachedResult | None:
        """The value under `key`, or None if there is none or it has expired.

        `serializer` reads a file written with a serializer object (the same one).
        """
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
        named = header.get("serializer", "cloudpickle")
        try:
            value = _loads(payload, serializer if named == _OBJECT else named)
        except Exception as exc:
            raise MissingResult(
                f"The result stored at {path} could not be read ({type(exc).__name__}: {exc}). "
                "Delete the file (or run with refresh_cache=True) to compute it again."
            ) from exc
        return CachedResult(value, header.get("created", 0.0))

    def load(self, key: str, serializer: Any = None) -> Any:
        """The value a run left only in storage (`cache_result_in_memory=False`); it must be there."""
        found = self.read(key, now=float("-inf"), serializer=serializer)  # never stale for its run
        if found is None:
            raise MissingResult(
                f"The result stored under {key!r} is gone from {self.folder / _filename(key)}; "
                "it was not kept in memory (cache_result_in_memory=False), so run the task again."
            )
        return found.value


def flow_persists(options: Any) -> bool:
    """Prefect's rule for a flow: explicit `persist_result`, else implied by a storage or serializer."""
    if options.persist_result is not None:
        return bool(options.persist_result)
    return (
        options.result_storage is not None
        or options.result_serializer is not None
        or not options.cache_result_in_memory
    )


_stores: dict[Path, ResultStore] = {}


def store_at(folder: Path) -> ResultStore:
    """The one store of a `result_storage` folder (made on first use)."""
    store = _stores.get(folder)
    if store is None:
        store = _stores[folder] = ResultStore(folder)
    return store


def storage_folder(owner: str, storage: Any) -> Path | None:
    """A `result_storage` option as the folder it names; refused (saying what works) otherwise.

    Accepted: a directory path (str or `os.PathLike`) or an object with a `basepath`
    (Prefect's `LocalFileSystem`). Results stay on this machine, so a URL is refused.
    """
    accepted = (
        "give a directory path (str or pathlib.Path) or an object with a `basepath` "
        "(like Prefect's LocalFileSystem)"
    )
    if storage is None:
        return None
    basepath = getattr(storage, "basepath", None)
    if basepath is not None and not isinstance(storage, str | os.PathLike):
        storage = basepath
    if isinstance(storage, str | os.PathLike):
        text = os.fspath(storage)
        if not isinstance(text, str) or "://" in text:
            raise ValueError(
                f"{owner}: result_storage {text!r} is a remote location; orc keeps results on "
                f"this machine: {accepted}."
            )
        return Path(text).expanduser()
    raise TypeError(f"{owner}: result_storage got {type(storage).__name__}; {accepted}.")


def check_serializer(owner: str, serializer: Any) -> None:
    """A `result_serializer` is a known name or an object with `dumps` and `loads`."""
    if serializer is None or serializer in SERIALIZERS:
        return
    if not isinstance(serializer, str) and all(
        callable(getattr(serializer, name, None)) for name in ("dumps", "loads")
    ):
        return
    raise (ValueError if isinstance(serializer, str) else TypeError)(
        f"{owner}: result_serializer {serializer!r} is not known; use one of "
        f"{', '.join(SERIALIZERS)}, or an object with dumps(value) -> bytes and loads(bytes)."
    )


def _filename(key: str) -> str:
    if _SAFE_KEY.match(key):
        return key
    return hashlib.sha256(key.encode()).hexdigest()


def _dumps(value: Any, serializer: Any) -> bytes:
    if not isinstance(serializer, str):
        data = serializer.dumps(value)
        return data.encode() if isinstance(data, str) else bytes(data)
    if serializer in _COMPRESSED:
        import lzma

        return lzma.compress(_dumps(value, _COMPRESSED[serializer]))
    if serializer == "json":
        return json.dumps(value).encode()
    # Prefect's "pickle" is cloudpickle too: a lambda or a local class must survive it.
    import cloudpickle

    return bytes(cloudpickle.dumps(value))


def _loads(payload: bytes, serializer: Any) -> Any:
    if serializer is None:
        raise ValueError("it was written with a serializer object; read it with that serializer")
    if not isinstance(serializer, str):
        return serializer.loads(payload)
    if serializer in _COMPRESSED:
        import lzma

        return _loads(lzma.decompress(payload), _COMPRESSED[serializer])
    if serializer == "json":
        return json.loads(payload)
    import pickle

    return pickle.loads(payload)
