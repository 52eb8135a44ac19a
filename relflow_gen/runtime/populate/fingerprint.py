"""Code fingerprints of makers: what counts as "the code that made a row".

A maker's fingerprint is the sha256 (first 16 hex digits) of

* the normalised source of the maker class: its syntax tree without
  docstrings, comments, blank lines or formatting (so reformatting with black,
  editing a comment or a docstring changes nothing; changing an expression,
  a constant or a name does);
* the normalised source of each helper the maker declares it depends on, in
  ``code_deps = (helpers.filter, helpers)`` (functions, classes or whole
  modules), in the order given;

unless the maker sets ``version = "2"``: then the version string alone is the
fingerprint, for people who prefer to say when results change.

Not counted: the generated base class, the runtime, libraries, data files,
helpers not listed in ``code_deps``, and methods inherited from a user base
class unless that class is listed. See docs/staleness.md.

A fingerprint is computed once per maker class and process, from the source as it
is when first asked (reading and parsing the maker's module costs milliseconds,
for every ``populate()``): it describes the class that runs. A class defined
again (a new process, ``importlib.reload``, a re-run notebook cell) is a new
class, fingerprinted anew.
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import textwrap
import threading
import weakref
from typing import Any

WIDTH = 16  # hex digits kept (the `_make_hash` column is char(16))


# CPython 3.11's ast module keeps its recursion bookkeeping per interpreter: two threads parsing
# at once can fail with "AST constructor recursion depth mismatch". One parse at a time.
_PARSING = threading.Lock()


#: maker class -> (its code_deps when fingerprinted, the fingerprint)
_KNOWN: weakref.WeakKeyDictionary[type[Any], tuple[tuple[object, ...], str]] = weakref.WeakKeyDictionary()


def code_fingerprint(maker: type[Any]) -> str:
    """The fingerprint of a maker class (see the module docstring for what counts)."""
    version = getattr(maker, "version", None)
    if isinstance(version, str):
        return _digest(f"version\0{version}")
    deps = tuple(getattr(maker, "code_deps", ()) or ())
    with _PARSING:
        known = _KNOWN.get(maker)
        if known is not None and known[0] == deps:  # functions, classes, modules: equal when the same
            return known[1]
        pieces = [normalised_source(maker)]
        for dep in deps:
            pieces.append(normalised_source(dep))
        digest = _digest("\0".join(pieces))
        _KNOWN[maker] = (deps, digest)
    return digest


def normalised_source(obj: object) -> str:
    """A function's, class's or module's syntax tree without docstrings, as text.

    Objects without source (built in, defined interactively) count by their qualified name.
    """
    try:
        source = inspect.getsource(obj)  # type: ignore[arg-type]
    except (OSError, TypeError):
        module = getattr(obj, "__module__", "")
        name = getattr(obj, "__qualname__", getattr(obj, "__name__", repr(obj)))
        return f"<no source: {module}.{name}>"
    tree = ast.parse(textwrap.dedent(source))
    for node in ast.walk(tree):
        _drop_docstring(node)
    body = tree.body
    if len(body) == 1 and isinstance(body[0], (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
        # what it does, not what it is called: the body (and a class's bases, a function's arguments)
        node = body[0]
        kept: list[ast.AST] = list(node.body)
        if isinstance(node, ast.ClassDef):
            kept = [*node.bases, *node.keywords, *kept]
        else:
            kept = [node.args, *kept]
        return "\n".join(ast.dump(n, annotate_fields=False, include_attributes=False) for n in kept)
    return ast.dump(tree, annotate_fields=False, include_attributes=False)


def _drop_docstring(node: ast.AST) -> None:
    body = getattr(node, "body", None)
    if not isinstance(body, list) or not body:
        return
    if not isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
        return
    first = body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        node.body = body[1:] or [ast.Pass()]


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:WIDTH]
