"""The learner's passing code, kept: ``my_client/labNN_name.py`` beside the notebooks.

When :func:`llmlab.check` passes, the learner's function or class is written out as a readable
standalone module: its own source (from the notebook cell), the other notebook functions it
calls, and import lines for the modules, library functions and literal constants it uses. Later
labs load it back with :func:`mine`, so lab 10's client runs the learner's own pieces. The folder
is ``<cwd>/my_client`` (Jupyter runs a notebook with its own folder as cwd), or
``$LLMLAB_MY_CODE``.
"""

from __future__ import annotations

import ast
import builtins
import dis
import functools
import importlib
import inspect
import linecache
import os
import re
import sys
import sysconfig
import textwrap
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["functions_of", "load", "my_code_dir", "path_for", "save", "source_of"]

_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


def my_code_dir() -> Path:
    """Where passing code is kept: ``$LLMLAB_MY_CODE``, else ``./my_client``."""
    return Path(os.environ.get("LLMLAB_MY_CODE") or Path.cwd() / "my_client")


def path_for(exercise_id: str) -> Path:
    """``07.backoff_delay`` -> ``my_client/lab07_backoff_delay.py``."""
    lab, _, name = exercise_id.partition(".")
    return my_code_dir() / f"lab{lab}_{name}.py"


class _Unsaveable(Exception):
    """The code depends on something a standalone file cannot recreate."""


def _global_names(code: types.CodeType) -> Iterator[str]:
    for ins in dis.get_instructions(code):
        if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME") and isinstance(ins.argval, str):
            yield ins.argval
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _global_names(const)


def functions_of(obj: Any) -> list[types.FunctionType]:
    """The function itself, or a class's own methods (property accessors included)."""
    if isinstance(obj, types.FunctionType):
        return [inspect.unwrap(obj)]  # a decorated function: the learner's own code
    if not isinstance(obj, type):
        return []
    out: list[types.FunctionType] = []
    for value in vars(obj).values():
        if isinstance(value, (staticmethod, classmethod)):
            value = value.__func__
        if isinstance(value, property):
            out += [f for f in (value.fget, value.fset) if isinstance(f, types.FunctionType)]
        elif isinstance(value, types.FunctionType):
            out.append(inspect.unwrap(value))
    return out


def _signature_parts(node: ast.AST) -> list[ast.AST]:
    """A definition's decorators, and a function's defaults and annotations (run at def time)."""
    parts: list[ast.AST] = list(getattr(node, "decorator_list", []))
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        a = node.args
        parts += [*a.defaults, *(d for d in a.kw_defaults if d is not None)]
        every = [*a.posonlyargs, *a.args, *a.kwonlyargs, *filter(None, [a.vararg, a.kwarg])]
        parts += [arg.annotation for arg in every if arg.annotation is not None]
        if node.returns is not None:
            parts.append(node.returns)
    return parts


def _outer_names(source: str) -> set[str]:
    """Names the definition uses outside its function bodies: decorators, bases, class body."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names: set[str] = set()
    for node in tree.body:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        outer: list[ast.AST] = _signature_parts(node)
        if isinstance(node, ast.ClassDef):
            outer += [*node.bases, *node.keywords]
            for stmt in node.body:
                if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    outer += _signature_parts(stmt)
                else:
                    outer.append(stmt)
        for part in outer:
            names |= {n.id for n in ast.walk(part) if isinstance(n, ast.Name)}
    return names


def _clean(source: str) -> str:
    lines = [ln for ln in source.splitlines() if ln.strip() not in _MARKERS]
    return textwrap.dedent("\n".join(lines)).rstrip()


def _is_literal(value: Any) -> bool:
    if isinstance(value, (types.ModuleType, type)) or callable(value):
        return False
    try:
        return bool(ast.literal_eval(repr(value)) == value)
    except (ValueError, SyntaxError, TypeError, RecursionError, MemoryError):
        return False


def _literal_repr(value: Any) -> str:
    """``repr``, with a set's items sorted: the file must not change with hash randomisation."""
    if isinstance(value, (set, frozenset)) and value:
        items = ", ".join(repr(v) for v in sorted(value, key=repr))
        return f"{{{items}}}" if isinstance(value, set) else f"frozenset({{{items}}})"
    return repr(value)


def _importable(value: Any) -> str | None:
    module, qual = getattr(value, "__module__", None), getattr(value, "__qualname__", None)
    if not module or not qual or module == "__main__" or "<" in qual or "." in qual:
        return None
    parts = module.split(".")
    for n in range(1, len(parts) + 1):  # the shortest public path: pydantic, not pydantic.main
        prefix = ".".join(parts[:n])
        if n < len(parts) and any(p.startswith("_") for p in parts[:n]):
            continue
        try:
            found = getattr(importlib.import_module(prefix), qual, None)
        except ImportError:
            continue
        if found is value:
            return prefix
    return None


def _module_attribute(name: str, value: Any) -> str | None:
    """The public module that holds ``value`` under ``name`` (``MODELS`` -> ``llmlab.sim``): an
    object such as a dict has no ``__module__``, so look for it by identity, shortest path first."""
    found = []
    for module_name, module in list(sys.modules.items()):
        if module is None or any(part.startswith("_") for part in module_name.split(".")):
            continue
        if getattr(module, name, None) is not value:  # cheap: ask the ~4,000 modules first
            continue
        if _installed(module):  # not a notebook, a test file or my_client/ itself
            found.append(module_name)
    return min(found, key=lambda m: (m.count("."), m)) if found else None


@functools.cache
def _install_roots() -> frozenset[Path]:
    """site-packages (pure and platform) and the directory holding the llmlab package."""
    paths = sysconfig.get_paths()
    roots = {Path(paths[key]).resolve() for key in ("purelib", "platlib")}
    roots.add(Path(__file__).resolve().parents[1])  # the llmlab package
    return frozenset(roots)


def _installed(module: types.ModuleType) -> bool:
    """Is ``module`` part of llmlab or an installed library (not a script, test or cell)?"""
    file = getattr(module, "__file__", None)
    if not file:
        return False
    path = Path(file).resolve()
    return any(root in path.parents for root in _install_roots())


def _http_line(value: types.ModuleType) -> str | None:
    if value.__name__ not in ("httpx", "httpx2"):
        return None
    from llmlab._httpgen import sdk_http

    for provider in ("anthropic", "openai"):
        if sdk_http(provider) is value:
            return f'sdk_http("{provider}")'
    return None


def _kept_id(value: Any) -> str | None:
    """The exercise id of a function or class that :func:`load` brought back from a file."""
    module = str(getattr(value, "__module__", "") or "")
    if not module.startswith("my_client.lab"):
        return None
    lab, _, name = module.removeprefix("my_client.lab").partition("_")
    return f"{lab}.{name}" if getattr(value, "__name__", None) == name else None


def _class_source(cls: type) -> str | None:
    """A class's source from the cell its methods were defined in, else from the latest cell
    that defines a class of that name (``inspect.getsource`` looks for a module file, which a
    notebook's ``__main__`` does not have before Python 3.13)."""
    files = [fn.__code__.co_filename for fn in functions_of(cls)]
    files += reversed([name for name in list(linecache.cache) if name not in files])
    for filename in files:
        lines = linecache.getlines(filename)
        try:
            tree = ast.parse("".join(lines))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.name == cls.__name__:
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                return "".join(lines[first - 1 : node.end_lineno])
    return None


def _source(name: str, obj: Any) -> str:
    try:
        return inspect.getsource(obj)
    except (OSError, TypeError) as exc:
        found = _class_source(obj) if isinstance(obj, type) else None
        if found is None:
            raise _Unsaveable(f"the source of {name} is not available ({exc})") from None
        return found


class _Writer:
    def __init__(self) -> None:
        self.imports: dict[str, str] = {}  # name -> import line
        self.constants: dict[str, str] = {}
        self.sources: dict[str, str] = {}  # name -> source, dependencies first
        self.aliases: dict[str, str] = {}  # another name the cells gave a kept function
        self.needs_sdk_http = False

    def add(self, name: str, obj: Any) -> None:
        if name in self.sources:
            return
        self.sources[name] = ""  # placeholder: breaks cycles
        source = _source(name, obj)
        source = _clean(source)
        scope: dict[str, Any] = {}
        used = _outer_names(source)
        for fn in functions_of(obj):
            scope.update(fn.__globals__)
            used |= set(_global_names(fn.__code__))
        if isinstance(obj, type) and not scope:
            scope = vars(importlib.import_module(obj.__module__)) if obj.__module__ else {}
        for dep in sorted(used - {name}):
            if dep in scope:
                self.dependency(dep, scope[dep])
        del self.sources[name]
        self.sources[name] = source

    def dependency(self, name: str, value: Any) -> None:
        if name in self.imports or name in self.constants or name in self.sources:
            return
        if hasattr(builtins, name) and getattr(builtins, name) is value:
            return
        if isinstance(value, types.ModuleType):
            http = _http_line(value)
            if http is not None:
                self.needs_sdk_http = True
                self.constants[name] = f"{name} = {http}"
            elif value.__name__ == name:
                self.imports[name] = f"import {name}"
            elif "." in value.__name__ and value.__name__.rsplit(".", 1)[1] == name:
                parent, leaf = value.__name__.rsplit(".", 1)
                self.imports[name] = f"from {parent} import {leaf}"
            else:
                self.imports[name] = f"import {value.__name__} as {name}"
            return
        kept = _kept_id(value)
        if kept is not None:
            self.imports["mine"] = "from llmlab import mine"
            self.constants[name] = f"{name} = mine({kept!r})"
            return
        module = _importable(value)
        if module is not None:
            qual = value.__qualname__
            alias = "" if qual == name else f" as {name}"
            self.imports[name] = f"from {module} import {qual}{alias}"
            return
        if _is_literal(value):
            self.constants[name] = f"{name} = {_literal_repr(value)}"
            return
        if isinstance(value, re.Pattern):
            self.imports["re"] = "import re"
            flags = value.flags & ~re.UNICODE if isinstance(value.pattern, str) else value.flags
            self.constants[name] = f"{name} = re.compile({value.pattern!r}, {flags})"
            return
        if isinstance(value, (types.FunctionType, type)) and value.__module__ == "__main__":
            # ``backoff_delay_ = solution_or_reference(...)`` names the same function twice
            self.add(value.__name__, value)
            if value.__name__ != name:
                self.aliases[name] = f"{name} = {value.__name__}"
            return
        holder = _module_attribute(name, value)
        if holder is not None:
            self.imports[name] = f"from {holder} import {name}"
            return
        raise _Unsaveable(
            f"it uses the notebook's {name!r} ({type(value).__name__}); pass it as an argument"
        )

    def render(self, exercise_id: str, name: str) -> str:
        head = [
            f'"""Your {exercise_id}, kept by llmlab.check when it passed: edit the notebook, '
            'not this file."""',
            "",
        ]
        imports = set(self.imports.values())
        if self.needs_sdk_http:
            imports.add("from llmlab.sim import sdk_http")
        ordered = sorted(imports, key=lambda line: (line.startswith("from "), line))
        body = [*ordered, *([""] if imports else []), *self.constants.values()]
        parts = [src for src in self.sources.values() if src]
        if self.aliases:
            parts.append("\n".join(self.aliases.values()))
        footer = [f"__llmlab_exercise__ = {exercise_id!r}", f"__llmlab_name__ = {name!r}"]
        blocks = ["\n".join(head + body).rstrip(), *parts, "\n".join(footer)]
        return "\n\n\n".join(blocks) + "\n"


def source_of(exercise_id: str, candidate: Any) -> str:
    """The standalone module text for ``candidate``; raises ``_Unsaveable`` if it cannot be."""
    name = getattr(candidate, "__name__", None)
    if not isinstance(candidate, (types.FunctionType, type)) or not name or name == "<lambda>":
        raise _Unsaveable("only a function or class defined with def/class can be kept")
    writer = _Writer()
    writer.add(name, candidate)
    return writer.render(exercise_id, name)


def save(exercise_id: str, candidate: Any) -> str:
    """Write the passing ``candidate`` to its file (atomically); returns a one-line note."""
    try:
        text = source_of(exercise_id, candidate)
    except _Unsaveable as exc:
        return f"(note: not kept in {my_code_dir().name}/: {exc})"
    path = path_for(exercise_id)
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return ""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return f"(kept in {path.parent.name}/{path.name}: later labs use it)"


def load(exercise_id: str) -> Any | None:
    """The learner's kept code for ``exercise_id``, executed in a fresh module; None if none."""
    path = path_for(exercise_id)
    if not path.is_file():
        return None
    module = types.ModuleType(f"my_client.{path.stem}")
    module.__file__ = str(path)
    code = compile(path.read_text(encoding="utf-8"), str(path), "exec")
    exec(code, module.__dict__)  # the learner's own file, written by save()
    return module.__dict__[module.__dict__["__llmlab_name__"]]
