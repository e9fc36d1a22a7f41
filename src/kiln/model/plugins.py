"""Bringing in the only code a blueprint may name: plugin files and a model class."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
import traceback
from pathlib import Path
from typing import Any

from kiln.blueprint.schema import Blueprint
from kiln.errors import PluginError, did_you_mean

_LOADED: dict[Path, Any] = {}


def load_plugins(blueprint: Blueprint) -> None:
    """Import each plugin file listed under `plugins` (once per process); its decorators
    register blocks and combiners. Errors name the file and the line."""
    for i, relative in enumerate(blueprint.plugins):
        load_plugin_file(blueprint.resolve(relative), where=f"plugins[{i}]")


def load_plugin_file(path: Path, *, where: str = "plugin") -> Any:
    path = path.resolve()
    if path in _LOADED:
        return _LOADED[path]
    if not path.is_file():
        raise PluginError(f"{where}: plugin file {path} does not exist — check the path "
                          f"(relative paths start at the blueprint's folder)")
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:8]
    module_name = f"kiln_plugin_{path.stem}_{digest}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        sys.modules.pop(module_name, None)
        raise PluginError(f"{path}:{exc.lineno}: syntax error in plugin: {exc.msg}") from None
    except Exception as exc:
        sys.modules.pop(module_name, None)
        raise PluginError(f"{_origin(exc, path)}: plugin failed to import: "
                          f"{type(exc).__name__}: {exc}") from None
    _LOADED[path] = module
    return module


def import_model_class(blueprint: Blueprint) -> type:
    """The class named by `architecture.model` (`package.module:Class`)."""
    assert blueprint.architecture.model is not None
    module_name, _, class_name = blueprint.architecture.model.partition(":")
    where = "architecture.model"
    added = str(blueprint.base_dir)
    sys.path.insert(0, added)  # a model file beside the blueprint is importable
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise PluginError(f"{where}: cannot import module {module_name!r} ({exc}) — is the "
                          f"package installed, or the file beside the blueprint?") from None
    except SyntaxError as exc:
        raise PluginError(f"{exc.filename}:{exc.lineno}: syntax error: {exc.msg}") from None
    except Exception as exc:
        raise PluginError(f"{where}: importing {module_name!r} failed: "
                          f"{type(exc).__name__}: {exc}") from None
    finally:
        if added in sys.path:
            sys.path.remove(added)
    cls = getattr(module, class_name, None)
    if cls is None:
        names = [n for n in dir(module) if not n.startswith("_")]
        raise PluginError(f"{where}: module {module_name!r} has no class {class_name!r}"
                          f"{did_you_mean(class_name, names)}")
    if not isinstance(cls, type):
        raise PluginError(f"{where}: {blueprint.architecture.model!r} is not a class")
    return cls


def _origin(exc: BaseException, path: Path) -> str:
    """`file:line` of the deepest frame inside the plugin file, for import errors."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename) == path]
    return f"{path}:{frames[-1].lineno}" if frames else str(path)
