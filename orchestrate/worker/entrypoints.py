"""Loading a flow from an entrypoint string, `"path/to/file.py:function"`.

Used by `orc flow run` and by workers. Every way this can go wrong becomes an
`EntrypointError` that names the file (and line) and says what to fix.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import os
import sys
import sysconfig
from importlib.machinery import SourceFileLoader
from pathlib import Path
from types import ModuleType
from typing import Any

from orchestrate.core.errors import EntrypointError
from orchestrate.worker import code_cache


def load_flow(entrypoint: str, root: str | Path | None = None) -> Any:
    """The object `function` names in the file of `entrypoint`.

    Args:
        entrypoint: `"path/to/file.py:function"`, the path relative to `root`.
        root: the folder relative paths start from; the current folder by default.

    Returns:
        Usually an `orchestrate.flows.Flow`; a plain function is returned as is.
    """
    file_part, name = split_entrypoint(entrypoint)
    # `os.path` on strings, as `Path.resolve` does underneath: a forked worker pays for every
    # page of the zygote it touches, and `pathlib`'s layers cost it ~0.2 ms more
    base = os.path.realpath(root if root is not None else os.getcwd())
    path = os.path.realpath(os.path.join(base, file_part))
    if not os.path.isfile(path):
        raise EntrypointError(
            f'{file_part}: no such file (entrypoint "{entrypoint}"); check the path '
            f"relative to {base}"
        )
    module = _import_file(path, file_part)
    return _pick(module, name, file_part)


def split_entrypoint(entrypoint: str) -> tuple[str, str]:
    """`("path/to/file.py", "function")`; an `EntrypointError` if it is not of that shape."""
    file_part, sep, name = entrypoint.rpartition(":")
    if not sep or not file_part or not name.isidentifier():
        raise EntrypointError(
            f"Entrypoint {entrypoint!r} is not of the form PATH.py:FUNCTION; "
            "write it like examples/etl.py:nightly (the file, a colon, the flow's name)."
        )
    return file_part, name


def _import_file(path: str, shown: str) -> ModuleType:
    """Import `path` under a name of its own, with its folder on `sys.path` for sibling imports."""
    module_name = entrypoint_module_name(path)
    add_import_folder(os.path.dirname(path))
    spec = importlib.util.spec_from_file_location(
        module_name, path, loader=_WarmLoader(module_name, path)
    )
    if spec is None or spec.loader is None:
        raise EntrypointError(f"{shown}: Python cannot import this file; is it a .py file?")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        del sys.modules[module_name]
        where = f"{shown}:{exc.lineno or '?'}:{exc.offset or '?'}"
        raise EntrypointError(
            f"{where}: SyntaxError: {exc.msg} — fix the file and run again."
        ) from exc
    except BaseException as exc:
        del sys.modules[module_name]
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        raise EntrypointError(
            f"{shown}: importing the file raised {type(exc).__name__}: {exc} "
            "— fix the error (traceback above) and run again."
        ) from exc
    return module


#: Module names by file, worked out in the zygote for the files its runs use (bounded as
#: `code_cache` is): a forked worker's first hash set up OpenSSL's state for it again,
#: ~30 copied pages of its zygote.
_module_names: dict[str, str] = {}


def entrypoint_module_name(path: str) -> str:
    """The name the flow file at real path `path` imports under: its own for each file, and
    the same in every run (results pickled by reference name it)."""
    name = _module_names.get(path)
    if name is None:
        digest = hashlib.sha1(path.encode()).hexdigest()[:12]
        name = f"orc_entrypoint_{os.path.splitext(os.path.basename(path))[0]}_{digest}"
        if len(_module_names) < code_cache.MAX_FILES:
            _module_names[path] = name
    return name


class _WarmLoader(SourceFileLoader):
    """Python's loader for a source file, but with the code the zygote compiled before the
    fork when the file is still the one it compiled (`code_cache`)."""

    def get_code(self, fullname: str) -> Any:
        code = code_cache.cached(self.path)
        return code if code is not None else super().get_code(fullname)


def add_import_folder(folder: str) -> None:
    """Put `folder` on `sys.path` right after the standard library's folders.

    At the front it would shadow the standard library, here and in every process
    started later with this `sys.path` (Dask's workers): a flow file named
    `numbers.py` would stop them from starting. It still comes before site-packages.
    """
    if folder in sys.path:
        return
    stdlib = Path(sysconfig.get_path("stdlib")).resolve()
    after = [i + 1 for i, entry in enumerate(sys.path) if _is_stdlib(entry, stdlib)]
    sys.path.insert(max(after, default=0), folder)


def _is_stdlib(entry: str, stdlib: Path) -> bool:
    """Whether `entry` is the standard library's folder, its zip, or its `lib-dynload`."""
    if not entry:
        return False
    path = Path(entry).resolve()
    return (
        path == stdlib
        or (path.parent == stdlib and path.name == "lib-dynload")
        or (path.suffix == ".zip" and path.parent == stdlib.parent)
    )


def _pick(module: ModuleType, name: str, shown: str) -> Any:
    if not hasattr(module, name):
        defined = _defined_callables(module)
        listing = ", ".join(defined) if defined else "no flows or functions"
        raise EntrypointError(
            f"{shown} has no {name!r}; it defines {listing}. "
            "Fix the name after the colon in the entrypoint."
        )
    obj = getattr(module, name)
    if not callable(obj):
        raise EntrypointError(
            f"{shown}:{name} is a {type(obj).__name__}, not a flow or function; "
            "point the entrypoint at a function decorated with @flow."
        )
    return obj


def _defined_callables(module: ModuleType) -> list[str]:
    """The flows first, then the plain functions, defined in the module itself."""
    flows, functions = [], []
    for attr, value in vars(module).items():
        if attr.startswith("_"):
            continue
        if type(value).__name__ == "Flow":
            flows.append(attr)
        elif inspect.isfunction(value) and value.__module__ == module.__name__:
            functions.append(attr)
    return sorted(flows) + sorted(functions)
