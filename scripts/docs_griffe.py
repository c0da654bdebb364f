"""What the API reference needs from the code that static analysis cannot see.

A Griffe extension, loaded by mkdocstrings (``mkdocs.yml``):

- attrs writes each class's ``__init__`` at runtime, so the reference would show
  no signature and call every defaulted parameter required: the real signature
  is read from the imported class and given to the class;
- docstrings name other objects with roles (``:class:`~custservice.Case```), the
  way they read in ``help()``: each becomes a link to the object's entry, or
  plain code when the reference has no entry for it.
"""

from __future__ import annotations

import ast
import enum
import importlib
import inspect
import re
from typing import Any

import griffe

_KINDS = {
    inspect.Parameter.POSITIONAL_ONLY: griffe.ParameterKind.positional_only,
    inspect.Parameter.POSITIONAL_OR_KEYWORD: griffe.ParameterKind.positional_or_keyword,
    inspect.Parameter.VAR_POSITIONAL: griffe.ParameterKind.var_positional,
    inspect.Parameter.KEYWORD_ONLY: griffe.ParameterKind.keyword_only,
    inspect.Parameter.VAR_KEYWORD: griffe.ParameterKind.var_keyword,
}
_ROLE = re.compile(r":(?:class|func|meth|attr|data|exc|mod|obj|const):`(~?)([\w.]+)(\(\))?`")


class CustserviceReference(griffe.Extension):
    """attrs signatures and cross-references, for every object of the package."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        for obj in _walk(pkg):
            if obj.is_class:
                _attrs_init(obj)  # type: ignore[arg-type]
            if obj.docstring is not None:
                obj.docstring.value = _links(obj, obj.docstring.value)


def _walk(obj: griffe.Object) -> Any:
    yield obj
    for member in obj.members.values():
        if not member.is_alias:
            yield from _walk(member)  # type: ignore[arg-type]


def _runtime(path: str) -> Any:
    module, _, name = path.rpartition(".")
    try:
        value: Any = importlib.import_module(module)
        for part in name.split("."):
            value = getattr(value, part)
    except (ImportError, AttributeError):
        return None
    return value


def _attrs_init(cls: griffe.Class) -> None:
    """Give an attrs class the ``__init__`` attrs generates for it."""
    runtime = _runtime(cls.path)
    if runtime is None or not hasattr(runtime, "__attrs_attrs__") or "__init__" in cls.members:
        return
    try:
        signature = inspect.signature(runtime.__init__)
    except (TypeError, ValueError):
        return
    fields = {a.name.lstrip("_"): a for a in runtime.__attrs_attrs__}
    parameters = []
    for p in signature.parameters.values():
        default = None
        declared = fields[p.name].default if p.name in fields else _nothing()
        if declared is not _nothing():  # a factory's default reads NOTHING in the signature
            default = _default(declared)
        elif p.default is not inspect.Parameter.empty:
            default = _default(p.default)
        annotation = _annotation(fields.get(p.name), p)
        parameters.append(
            griffe.Parameter(p.name, annotation=annotation, kind=_KINDS[p.kind], default=default)
        )
    init = griffe.Function("__init__", parameters=griffe.Parameters(*parameters), returns="None")
    init.parent = cls
    cls.set_member("__init__", init)


def _nothing() -> Any:
    import attrs

    return attrs.NOTHING


def _default(value: Any) -> str:
    import attrs

    if isinstance(value, enum.Enum):  # its repr (<Priority.NORMAL: 'normal'>) is no Python
        return f"{type(value).__name__}.{value.name}"
    if isinstance(value, attrs.Factory):  # type: ignore[arg-type]
        factory = value.factory
        name = getattr(factory, "__name__", "")
        return f"{name}()" if name and name != "<lambda>" else "..."
    for module in ("custservice", "custservice.analytics"):
        package = importlib.import_module(module)
        for name in package.__all__:
            if getattr(package, name) is value and not isinstance(value, (bool, int, str)):
                return name  # a named constant reads better than its repr
    text = repr(value)
    try:  # a signature that does not parse is not formatted to fit the page
        ast.parse(text, mode="eval")
    except SyntaxError:
        return "..."
    return text if len(text) <= 40 else "..."


def _annotation(field: Any, p: inspect.Parameter) -> str | None:
    hint = field.type if field is not None and field.type is not None else p.annotation
    if hint is inspect.Parameter.empty or hint is None:
        return None
    return hint if isinstance(hint, str) else inspect.formatannotation(hint)


def _links(obj: griffe.Object, text: str) -> str:
    """``text`` with each role written as a link to the object it names."""

    def link(match: re.Match[str]) -> str:
        short, name, call = match.group(1), match.group(2), match.group(3) or ""
        shown = (name.rpartition(".")[2] if short else name) + call
        target = _resolve(obj, name)
        if target is None:
            return f"`{shown}`"
        return f'<autoref identifier="{target}" optional><code>{shown}</code></autoref>'

    return _ROLE.sub(link, text)


def _resolve(obj: griffe.Object, name: str) -> str | None:
    """The full path of ``name`` as written in ``obj``'s docstring, if it can be found."""
    if name.startswith("custservice."):
        return name
    head, _, rest = name.partition(".")
    try:
        resolved = obj.resolve(head)
    except Exception:  # a name griffe cannot place is shown, not linked
        return None
    return f"{resolved}.{rest}" if rest else resolved
