"""Recognising the untouched stub, so only it is reported as "not attempted yet".

The lab notebooks replace each solution by ``raise NotImplementedError  # YOUR CODE HERE``. A
function whose body (docstring aside) is exactly that raise is untouched; a function that raises
NotImplementedError anywhere else is half-written and gets real feedback.
"""

from __future__ import annotations

import ast
import dis
import inspect
import textwrap
from typing import Any

# opcodes that any function body carries around its statements (CPython 3.11-3.13)
_FRAMING = {
    "RESUME",
    "NOP",
    "CACHE",
    "COPY_FREE_VARS",
    "MAKE_CELL",
    "RETURN_GENERATOR",
    "POP_TOP",
    "PUSH_NULL",
    "PRECALL",
    "CALL",
}


def _function_of(obj: Any) -> Any:
    if isinstance(obj, property):
        obj = obj.fget
    if isinstance(obj, staticmethod | classmethod):
        obj = obj.__func__
    obj = inspect.unwrap(obj) if callable(obj) else obj
    return obj if inspect.isfunction(obj) else None


def _is_raise_nie(stmt: ast.stmt) -> bool:
    if not isinstance(stmt, ast.Raise) or stmt.cause is not None or stmt.exc is None:
        return False
    exc = stmt.exc
    if isinstance(exc, ast.Call) and not exc.args and not exc.keywords:
        exc = exc.func
    return isinstance(exc, ast.Name) and exc.id == "NotImplementedError"


def _stub_by_source(fn: Any) -> bool | None:
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError, IndentationError):
        return None
    node = next(
        (n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)), None
    )
    if node is None:  # e.g. a lambda: never the generated stub
        return False
    body = list(node.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    return len(body) == 1 and _is_raise_nie(body[0])


def _stub_by_bytecode(fn: Any) -> bool:
    code = fn.__code__
    ops = [i for i in dis.get_instructions(code) if i.opname not in _FRAMING]
    return (
        code.co_names == ("NotImplementedError",)
        and len(ops) == 2
        and ops[0].opname == "LOAD_GLOBAL"
        and ops[1].opname == "RAISE_VARARGS"
    )


def is_untouched(obj: Any) -> bool:
    """Whether ``obj`` (a function, method or property) is the generated stub, unchanged."""
    fn = _function_of(obj)
    if fn is None:
        return False
    by_source = _stub_by_source(fn)
    return by_source if by_source is not None else _stub_by_bytecode(fn)


def unwritten(candidate: Any, parts: tuple[str, ...]) -> tuple[list[str], bool]:
    """(the ``parts`` still the stub, whether anything was written); ``()`` means the candidate.

    A part the candidate lacks altogether counts as not written, not as a stub.
    """
    if not parts:
        stub = is_untouched(candidate)
        return (["it"] if stub else []), not stub
    stubs, written = [], False
    for name in parts:
        try:
            member = inspect.getattr_static(candidate, name)
        except AttributeError:
            continue  # reported by the checker when it is used
        if is_untouched(member):
            stubs.append(name)
        elif member is not getattr(object, name, None):  # object's own __init__ is not written
            written = True
    return stubs, written
