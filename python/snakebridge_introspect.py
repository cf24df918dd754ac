"""Introspect the Python symbols an Elixir project calls, for snakebridge.

Reads one JSON request on stdin and writes one JSON reply on stdout. Standard library only;
the snakebridge binary embeds this file and runs it in the project's Python.

Request::

    {"library": "numpy", "stdlib": false, "sys_path": [],
     "modules": [["Linalg"], ...],                       # Elixir segments below the library
     "symbols": [{"module": ["Linalg"], "candidates": ["norm"]}, ...],
                                                         # plus "stream_of": ["norm"] for a
                                                         # `norm_stream` call: the symbol whose
                                                         # stream wrapper it is, if Python has no
                                                         # `norm_stream`
     "list": false}                                      # true: also list every public symbol

Reply::

    {"schema": 1, "python": {...}, "library": {...} | null, "error": {...} | null,
     "modules": [...], "symbols": [...],                 # one entry per request, same order
     "public": [{"below": "linalg", "name": "norm", "kind": "function"}, ...],
     "unreachable": [{"path": "numpy.polynomial.chebyshev", "taken_by": "...", "symbols": 36}]}

Output is deterministic: no memory addresses, no set or dict-subclass order, no absolute
paths, no timings. Anything a library prints while imported goes to stderr.
"""

import ast
import builtins
import difflib
import enum
import functools
import importlib
import importlib.metadata
import importlib.util
import inspect
import json
import os
import platform
import re
import sys
import sysconfig
import traceback
import types
import typing
import warnings

SCHEMA = 1
ADDRESS = re.compile(r"\s+at\s+0x[0-9a-fA-F]+|0x[0-9a-fA-F]{6,}")
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
NUMBERED = re.compile(r"^[A-Za-z_]+[0-9]+$")
KIND_NAMES = {
    inspect.Parameter.POSITIONAL_ONLY: "positional_only",
    inspect.Parameter.POSITIONAL_OR_KEYWORD: "positional_or_keyword",
    inspect.Parameter.VAR_POSITIONAL: "var_positional",
    inspect.Parameter.KEYWORD_ONLY: "keyword_only",
    inspect.Parameter.VAR_KEYWORD: "var_keyword",
}


class NotFound(Exception):
    """A module segment or attribute that does not exist, with close matches."""

    def __init__(self, path, suggestions):
        super().__init__(path)
        self.path = path
        self.suggestions = suggestions


def clean_text(text):
    """Strips memory addresses and anything that is not valid UTF-8."""
    if text is None:
        return ""
    text = ADDRESS.sub("", str(text))
    return text.encode("utf-8", "replace").decode("utf-8")


def underscore(segment):
    """Elixir's `Macro.underscore` for one alias segment: `RandomState` -> `random_state`."""
    out = []
    for i, char in enumerate(segment):
        if char.isupper():
            prev = segment[i - 1] if i > 0 else ""
            nxt = segment[i + 1] if i + 1 < len(segment) else ""
            if i > 0 and (prev.islower() or prev.isdigit() or (prev.isupper() and nxt.islower())):
                out.append("_")
            out.append(char.lower())
        else:
            out.append(char)
    return "".join(out)


def camelize(path):
    """The host's `naming::camelize`: `polynomial.hermite_e` -> `Polynomial.HermiteE`."""
    return ".".join("".join(part[:1].upper() + part[1:] for part in segment.split("_") if part) for segment in path.split("."))


def public_names(container):
    names = getattr(container, "__all__", None) if inspect.ismodule(container) else None
    if not isinstance(names, (list, tuple)):
        names = dir(container)
    return sorted({n for n in names if isinstance(n, str) and not n.startswith("_")})


def close_matches(name, container):
    return difflib.get_close_matches(name, public_names(container), n=3, cutoff=0.6)


def lookup(container, name):
    """`getattr` that also imports submodules the parent has not imported yet."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return getattr(container, name)
        except AttributeError:
            pass
        except Exception:  # a lazy `__getattr__` that raised: report it as an import failure
            raise
        if inspect.ismodule(container):
            qualified = container.__name__ + "." + name
            try:
                return importlib.import_module(qualified)
            except ModuleNotFoundError as error:
                if error.name != qualified:
                    raise
    raise AttributeError(name)


def segment_candidates(obj, segment):
    """Python names an Elixir module segment may stand for, most likely first; last, public
    names that camelize to it (`c_` for `C`, `bytes_` for `Bytes`)."""
    yield from dict.fromkeys([segment, underscore(segment), segment.lower()])
    yield from (name for name in public_names(obj) if camelize(name) == segment)


def resolve_container(root, library, segments):
    """Walks Elixir module segments down from the library: returns (python_path, kind, obj)."""
    obj, path = root, library
    for position, segment in enumerate(segments):
        for candidate in segment_candidates(obj, segment):
            try:
                obj = lookup(obj, candidate)
            except AttributeError:
                continue
            path = path + "." + candidate
            break
        else:
            raise NotFound(path + "." + underscore(segment), close_matches(underscore(segment), obj))
        if not (inspect.ismodule(obj) or inspect.isclass(obj) or (position == len(segments) - 1 and instance(obj))):
            raise NotFound(path, [])
    return path, ("class" if inspect.isclass(obj) else "module"), obj


def instance(obj):
    """An object a module holds whose methods are called like the module's functions
    (`scipy.stats.norm.cdf`): of a class defined outside the builtins, not itself a routine."""
    return not inspect.isroutine(obj) and type(obj).__module__ not in ("builtins", "types")


def canonical(value, depth=0):
    """A deterministic, address-free repr for documentation."""
    if depth > 4:
        return "..."
    if value is None or isinstance(value, (bool, int, float, complex, str, bytes)):
        return repr(value)
    if isinstance(value, enum.Enum):
        return type(value).__qualname__ + "." + value.name
    if isinstance(value, (types.FunctionType, types.BuiltinFunctionType, type, types.ModuleType)):
        module = getattr(value, "__module__", None) or ""
        name = getattr(value, "__qualname__", None) or getattr(value, "__name__", "?")
        return name if module in ("builtins", "") else module + "." + name
    if isinstance(value, (list, tuple)):
        items = ", ".join(canonical(v, depth + 1) for v in value)
        if isinstance(value, tuple):
            return "(" + items + ("," if len(value) == 1 else "") + ")"
        return "[" + items + "]"
    if isinstance(value, (set, frozenset)):
        items = ", ".join(sorted(canonical(v, depth + 1) for v in value))
        return ("frozenset({" + items + "})") if isinstance(value, frozenset) else ("{" + items + "}" if items else "set()")
    if isinstance(value, dict):
        pairs = sorted((canonical(k, depth + 1), canonical(v, depth + 1)) for k, v in value.items())
        body = "{" + ", ".join(k + ": " + v for k, v in pairs) + "}"
        return body if type(value) is dict else type(value).__name__ + "(" + body + ")"
    try:
        text = repr(value)
    except Exception:
        text = "<" + type(value).__name__ + ">"
    return clean_text(text)


def annotation_text(annotation, namespace=None):
    """An annotation as source text; with the `namespace` it was written in, every name a spec
    cannot trust is `Any` (see `honest_annotation`)."""
    if annotation is inspect.Parameter.empty or annotation is inspect.Signature.empty:
        return None
    if isinstance(annotation, str):
        text = annotation
        # `b: "Decimal"` under `from __future__ import annotations` arrives quoted twice.
        if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
            try:
                text = ast.literal_eval(text)
            except (ValueError, SyntaxError):
                pass
    else:
        text = inspect.formatannotation(annotation).replace("builtins.", "")
    if namespace is not None:
        text = honest_annotation(text, namespace)
    return clean_text(text)


# Abstract classes of the standard library that specs read by name (as lists, maps, sets and
# functions); any other abstract class or protocol says nothing a spec can use.
_READ_BY_NAME = frozenset(
    "Sequence MutableSequence Iterable Iterator Generator Collection Mapping MutableMapping "
    "Set MutableSet AbstractSet Callable".split()
)
_MISSING = object()
# Types that mean "not given" (pandas' `lib.NoDefault`, numpy's `_NoValueType`): aliases, not
# classes, which specs leave out by name.
_SENTINELS = frozenset(("NoDefault", "_NoDefault", "_NoValueType"))


def namespace_of(obj):
    """The globals an object's annotations were written in, to look their names up."""
    try:
        target = inspect.unwrap(obj) if callable(obj) else obj
    except Exception:  # noqa: BLE001 - a broken __wrapped__ chain
        target = obj
    target = getattr(target, "__func__", target)
    found = getattr(target, "__globals__", None)
    if isinstance(found, dict):
        return found
    module = sys.modules.get(getattr(target, "__module__", None) or "")
    return vars(module) if module is not None else None


def honest_annotation(text, namespace):
    """`text` with every name a spec cannot trust replaced by `Any`, never evaluated: a name
    that does not resolve (an alias imported only for type checkers), a TypeVar, a Protocol or
    an abstract class may stand for a string or a number, so a spec of it as a reference would
    lie. A spec may be less precise, never wrong."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        return text
    try:
        return ast.unparse(_Honest(namespace).visit(tree))
    except Exception:  # noqa: BLE001 - an odd annotation stays as written
        return text


class _Honest(ast.NodeTransformer):
    def __init__(self, namespace):
        self.namespace = namespace

    def resolve(self, node):
        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return _MISSING
        value = self.namespace.get(node.id, vars(builtins).get(node.id, _MISSING))
        for part in reversed(parts):
            if value is _MISSING:
                break
            try:
                value = getattr(value, part, _MISSING)
            except Exception:  # noqa: BLE001 - a lazy `__getattr__` that raised: unresolved
                return _MISSING
        return value

    def trusted(self, node):
        if (node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", None)) in _SENTINELS:
            return True
        value = self.resolve(node)
        if value is _MISSING or isinstance(value, (typing.TypeVar, getattr(typing, "ParamSpec", typing.TypeVar))):
            return False
        module = getattr(value, "__module__", None) or ""
        if module in ("typing", "typing_extensions") or module.split(".")[0] == "numpy":
            return True
        if not inspect.isclass(value):
            return False
        if getattr(value, "_is_protocol", False) or inspect.isabstract(value):
            return value.__name__ in _READ_BY_NAME and module in ("typing", "collections.abc")
        if module == "collections.abc":
            return value.__name__ in _READ_BY_NAME
        return True

    def any(self, node):
        return ast.copy_location(ast.Name(id="Any", ctx=ast.Load()), node)

    def visit_Name(self, node):
        return node if self.trusted(node) else self.any(node)

    def visit_Attribute(self, node):
        return node if self.trusted(node) else self.any(node)

    def visit_Subscript(self, node):
        if not self.trusted(node.value):
            return self.any(node)
        head = node.value.attr if isinstance(node.value, ast.Attribute) else getattr(node.value, "id", "")
        if head != "Literal":
            node.slice = self.visit(node.slice)
        return node

    def visit_Constant(self, node):
        # A string in type position is a forward reference: check what it names.
        if isinstance(node.value, str):
            try:
                inner = ast.parse(node.value.strip(), mode="eval").body
            except SyntaxError:
                return node
            return ast.copy_location(self.visit(inner), node)
        return node


def signature_record(signature, source, drop_first=False, namespace=None):
    params = list(signature.parameters.values())
    if drop_first and params and params[0].kind in (
        inspect.Parameter.POSITIONAL_ONLY,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
    ):
        params = params[1:]
    out = []
    for param in params:
        record = {"python_name": param.name, "kind": KIND_NAMES[param.kind]}
        if param.default is not inspect.Parameter.empty:
            record["default"] = canonical(param.default)
        annotation = annotation_text(param.annotation, namespace)
        if annotation is not None:
            record["annotation"] = annotation
        out.append(record)
    result = {"params": out, "source": source}
    returns = annotation_text(signature.return_annotation, namespace)
    if returns is not None:
        result["returns"] = returns
    return result


def signature_from_doc(name, doc):
    """Parses a C function's docstring head: `log(x, [base=math.e])` or `range(start, stop[, step])`."""
    if not doc:
        return None
    # The head is the first line, or a line of its own among the first few after a summary
    # (`timedelta`'s docstring says what it is, then `timedelta(days=0, seconds=0, ...)`).
    pattern = re.compile(r"^" + re.escape(name) + r"\((.*)\)(\s*-+>.*)?$")
    match = next(filter(None, (pattern.match(line.strip()) for line in doc.strip().splitlines()[:6])), None)
    if not match:
        return None
    params, depth, token, tokens = [], 0, "", []
    for char in match.group(1):
        if char == "[":
            depth += 1
            if token.strip():
                tokens.append((token, depth - 1))
            token = ""
        elif char == "]":
            if token.strip():
                tokens.append((token, depth))
            token = ""
            depth -= 1
        elif char == ",":
            if token.strip():
                tokens.append((token, depth))
            token = ""
        else:
            token += char
    if token.strip():
        tokens.append((token, depth))
    keyword_only = False
    for raw, optional_depth in tokens:
        text = raw.strip()
        if text == "/":
            for param in params:
                param["kind"] = "positional_only"
            continue
        if text == "*":
            keyword_only = True
            continue
        if text in ("...", "*args..."):
            # `pack(format, v1, v2, ...)`: numbered names before `...` are examples of it.
            while params and NUMBERED.match(params[-1]["python_name"]) and "default" not in params[-1]:
                params.pop()
            params.append({"python_name": "args", "kind": "var_positional"})
            continue
        kind = "keyword_only" if keyword_only else "positional_or_keyword"
        default = None
        if text.startswith("**"):
            kind, text = "var_keyword", text[2:]
        elif text.startswith("*"):
            kind, text = "var_positional", text[1:]
            keyword_only = True
        if "=" in text:
            text, default = (part.strip() for part in text.split("=", 1))
        if not IDENTIFIER.match(text):
            return None
        param = {"python_name": text, "kind": kind}
        if default is not None or optional_depth > 0:
            param["default"] = clean_text(default if default is not None else "...")
        params.append(param)
    # Docstring heads of C functions describe positional-only parameters.
    if not any(p["kind"] == "keyword_only" for p in params):
        for param in params:
            if param["kind"] == "positional_or_keyword":
                param["kind"] = "positional_only"
    return {"params": params, "source": "docstring"}


_STUBS = {}


def _module_of_path(path):
    """The dotted module a file under `sys.path` is, for resolving relative imports."""
    path = os.path.abspath(path)
    for root in sorted((p for p in sys.path if p and os.path.isdir(p)), key=len, reverse=True):
        root = os.path.abspath(root)
        if path.startswith(root + os.sep):
            relative = os.path.splitext(path[len(root) + 1:])[0].split(os.sep)
            if relative[-1] == "__init__":
                relative = relative[:-1]
            return ".".join(relative)
    return None


def _stub(path):
    """A parsed stub (or source) file and its import table (alias -> qualified name), cached."""
    if path not in _STUBS:
        try:
            with open(path, encoding="utf-8") as handle:
                tree = ast.parse(handle.read())
        except (OSError, SyntaxError, ValueError, UnicodeDecodeError):
            tree = None
        table = {}
        module = _module_of_path(path) or ""
        package = module if path.endswith("__init__.pyi") or path.endswith("__init__.py") else module.rpartition(".")[0]
        for node in tree.body if tree else []:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    table[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else alias.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - (node.level - 1)] if package else []
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module
                if not source:
                    continue
                for alias in node.names:
                    table[alias.asname or alias.name] = source + "." + alias.name
        _STUBS[path] = (tree, table)
    return _STUBS[path]


class _Qualify(ast.NodeTransformer):
    """Rewrites a stub's import aliases to qualified names (`L[...]` -> `typing.Literal[...]`)
    and expands private type aliases and TypeVars to what they stand for, a few levels deep:
    `_ShapeLike` -> `SupportsIndex | Sequence[SupportsIndex]`, `_ArrayT` -> its bound."""

    def __init__(self, table, module=None, depth=0):
        self.table = table
        self.module = module
        self.depth = depth

    def visit_Name(self, node, expand=True):
        qualified = self.table.get(node.id)
        if qualified is None and self.module and node.id.startswith("_"):
            qualified = self.module + "." + node.id
        if qualified is None:
            return node
        if expand and self.depth < 3 and not _KNOWN_ALIAS.match(node.id):
            expanded = _expand_alias(qualified, self.depth)
            if expanded is not None:
                return ast.copy_location(expanded, node)
        return ast.copy_location(ast.Name(id=qualified, ctx=node.ctx), node)

    def visit_Subscript(self, node):
        # A generic alias takes parameters; expanding it would need to substitute them.
        if isinstance(node.value, ast.Name):
            node.value = self.visit_Name(node.value, expand=False)
        else:
            node.value = self.visit(node.value)
        node.slice = self.visit(node.slice)
        return node


# Aliases the typespec stage maps by name, better than their expansions would map.
_KNOWN_ALIAS = re.compile(r"^_(ArrayLike|DTypeLike|ShapeLike|NoValue|SupportsArray|NestedSequence|DualArrayLike)")


def _simple(node):
    """Whether an expanded alias is plain enough to help: names, unions and Literals of them."""
    if isinstance(node, (ast.Name, ast.Constant, ast.Attribute)):
        return True
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _simple(node.left) and _simple(node.right)
    if isinstance(node, ast.Subscript):
        return _simple(node.value) and all(_simple(e) for e in (node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]))
    return False


_ALIASES = {}


def _stub_text(node, table, module=None):
    if node is None:
        return None
    try:
        return clean_text(ast.unparse(_Qualify(table, module).visit(node)))
    except Exception:  # noqa: BLE001 - an unparsable annotation is simply absent
        return None


def _source_for_module(module_name):
    """A module's stub, else its Python source: where its aliases are defined."""
    path = _pyi_for_module(module_name)
    if path:
        return path
    try:
        spec = importlib.util.find_spec(module_name)
    except (ImportError, ValueError):
        return None
    origin = getattr(spec, "origin", None) if spec else None
    return origin if origin and origin.endswith(".py") else None


def _expand_alias(qualified, depth):
    """The expression a private alias or TypeVar names, qualified, or None."""
    if qualified in _ALIASES:
        return _ALIASES[qualified]
    _ALIASES[qualified] = None  # a cycle resolves to the name itself
    module, _, name = qualified.rpartition(".")
    if not module or not name.startswith("_"):
        return None
    path = _source_for_module(module)
    if not path:
        return None
    tree, table = _stub(path)
    value = None
    for node in tree.body if tree else []:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) and node.targets[0].id == name:
            value = node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == name and node.value is not None:
            value = node.value
        elif isinstance(node, ast.TypeAlias if hasattr(ast, "TypeAlias") else ()) and node.name.id == name:
            value = node.value
    if value is None:
        target = table.get(name)
        result = _expand_alias(target, depth + 1) if target and target != qualified and depth < 3 else None
        _ALIASES[qualified] = result
        return result
    if isinstance(value, ast.Call) and getattr(value.func, "id", getattr(value.func, "attr", "")) == "TypeVar":
        bound = next((k.value for k in value.keywords if k.arg == "bound"), None)
        value = bound if bound is not None else (ast.BinOp(left=value.args[1], op=ast.BitOr(), right=value.args[2]) if len(value.args) == 3 else None)
        if value is None:
            return None
    try:
        expanded = _Qualify(table, module, depth + 1).visit(ast.parse(ast.unparse(value), mode="eval").body)
    except Exception:  # noqa: BLE001 - an alias that does not parse stays a name
        return None
    if len(ast.unparse(expanded)) > 400 or not _simple(expanded):
        return None
    _ALIASES[qualified] = expanded
    return expanded


def _pyi_for_module(module_name):
    try:
        spec = importlib.util.find_spec(module_name)
    except (ImportError, ValueError):
        return None
    origin = getattr(spec, "origin", None) if spec else None
    if not origin:
        return None
    path = os.path.splitext(origin)[0] + ".pyi"
    return path if os.path.exists(path) else None


def _stub_paths(obj, module_name):
    """`.pyi` files that may describe `obj`: beside its source, and beside its module."""
    candidates = []
    target = inspect.unwrap(obj) if callable(obj) else obj
    code = getattr(target, "__code__", None)
    if code is not None:
        candidates.append(os.path.splitext(code.co_filename)[0] + ".pyi")
    for name in (getattr(obj, "__module__", None), module_name):
        if isinstance(name, str):
            candidates.append(_pyi_for_module(name))
    return [path for path in dict.fromkeys(candidates) if path and os.path.exists(path)]


def _stub_signature(node, table, drop_first, module=None):
    args = node.args
    positional = [(a, "positional_only") for a in args.posonlyargs] + [(a, "positional_or_keyword") for a in args.args]
    defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    params = []
    for (arg, kind), default in zip(positional, defaults):
        params.append((arg, kind, default))
    if args.vararg:
        params.append((args.vararg, "var_positional", None))
    for arg, default in zip(args.kwonlyargs, args.kw_defaults):
        params.append((arg, "keyword_only", default))
    if args.kwarg:
        params.append((args.kwarg, "var_keyword", None))
    if drop_first and params and params[0][1] != "keyword_only":
        params = params[1:]
    out = []
    for arg, kind, default in params:
        record = {"python_name": arg.arg, "kind": kind}
        if default is not None:
            record["default"] = _stub_text(default, {}) or "..."
        annotation = _stub_text(arg.annotation, table, module)
        if annotation is not None:
            record["annotation"] = annotation
        out.append(record)
    result = {"params": out, "source": "stub"}
    returns = _stub_text(node.returns, table, module)
    if returns is not None:
        result["returns"] = returns
    return result


def _stub_defs(path, name, class_name, hops=0):
    """The defs of `name` in a stub, following one `from module import name` re-export, with
    the import table and module name they are read against."""
    tree, table = _stub(path)
    if tree is None:
        return [], table, None
    body = tree.body
    if class_name is not None:
        owners = [n for n in body if isinstance(n, ast.ClassDef) and n.name == class_name]
        body = owners[0].body if owners else []
    defs = [n for n in body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == name]
    target = table.get(class_name or name)
    if not defs and hops < 3 and target and "." in target:
        origin = _source_for_module(target.rsplit(".", 1)[0])
        if origin and origin != path:
            return _stub_defs(origin, name, class_name, hops + 1)
    if not defs and class_name is None:
        # `add: _UFunc_Nin2_Nout1[...]`: a callable object; its class's `__call__` is its signature.
        declared = next((n.annotation for n in body if isinstance(n, ast.AnnAssign) and getattr(n.target, "id", None) == name), None)
        base = declared.value if isinstance(declared, ast.Subscript) else declared
        if isinstance(base, ast.Name) and hops < 3:
            qualified = table.get(base.id) or ((_module_of_path(path) or "") + "." + base.id)
            module, _, cls = qualified.rpartition(".")
            origin = _source_for_module(module) if module else None
            if origin:
                calls, call_table, call_module = _stub_defs(origin, "__call__", cls, hops + 1)
                if calls:
                    return calls, call_table, call_module
    return defs, table, _module_of_path(path)


def stub_signatures(obj, name, module_name, class_name=None):
    """Every signature a stub declares for `name` (all its `@overload`s), in order."""
    for path in _stub_paths(obj, module_name):
        defs, table, module = _stub_defs(path, name, class_name)
        if defs:
            methods = class_name is not None or defs[0].name == "__call__"
            return [_stub_signature(d, table, methods, module) for d in defs]
    return []


def runtime_overloads(obj):
    """Signatures of `typing.overload` variants defined at run time (Python 3.11+)."""
    get = getattr(typing, "get_overloads", None)
    if get is None or not callable(obj):
        return []
    try:
        variants = get(inspect.unwrap(obj))
    except Exception:  # noqa: BLE001
        return []
    out = []
    for variant in variants:
        try:
            out.append(signature_record(inspect.signature(variant), "inspect", namespace=namespace_of(variant)))
        except (ValueError, TypeError):
            continue
    return out


def annotated(signature):
    return signature is not None and (
        "returns" in signature or any("annotation" in p for p in signature["params"])
    )


def overloads_of(obj, name, signature, module_name, class_name=None):
    """Further signatures carrying types: run-time overloads, else stubs when the run-time
    signature has no annotations (numpy's types live only in its stubs)."""
    found = runtime_overloads(obj)
    if not found and not annotated(signature):
        found = stub_signatures(obj, name, module_name, class_name)
    return found


def signature_of(obj, name, drop_first=False):
    """The best signature available, or None for the host's variadic fallback."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            signature = inspect.signature(obj)
        except (ValueError, TypeError):
            signature = None
    if signature is not None:
        plain = inspect.isfunction(inspect.unwrap(obj)) if callable(obj) else False
        has_text = bool(getattr(obj, "__text_signature__", None))
        source = "text_signature" if has_text and not plain else "inspect"
        return signature_record(signature, source, drop_first, namespace_of(obj))
    parsed = signature_from_doc(name, inspect.getdoc(obj))
    if parsed is not None and drop_first and parsed["params"]:
        parsed["params"] = parsed["params"][1:] if parsed["params"][0]["python_name"] in ("self", "cls") else parsed["params"]
    return parsed


def doc_of(obj, name=None):
    try:
        doc = inspect.getdoc(obj)
    except Exception:
        doc = None
    doc = clean_text(doc)
    # C functions and ufuncs repeat their signature as the docstring's first paragraph.
    if name and re.match(r"^(\w+\.)?" + re.escape(name) + r"\(", doc):
        first, _, rest = doc.partition("\n")
        if first.rstrip().endswith(")") or "->" in first:
            doc = rest
    return doc.strip()


def own_doc(value):
    """A constant's doc only when it is its own, not its type's."""
    doc = getattr(value, "__doc__", None)
    if doc and doc != getattr(type(value), "__doc__", None):
        return clean_text(inspect.cleandoc(doc)).strip()
    return ""


def defined_in(obj):
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None)
    if isinstance(module, str) and isinstance(qualname, str):
        return module + "." + qualname
    return None


def raw_class_attribute(cls, name):
    for klass in inspect.getmro(cls):
        if name in vars(klass):
            return vars(klass)[name], klass
    return None, None


def property_annotation(prop):
    """A property's return annotation as text; none when its getter has no signature
    (`property(operator.attrgetter("_drv"))` in pathlib)."""
    if prop.fget is None:
        return None
    try:
        signature = inspect.signature(prop.fget)
    except (TypeError, ValueError):
        return None
    return annotation_text(signature.return_annotation, namespace_of(prop.fget))


def declared_attributes(cls):
    """The instance attributes a class declares by annotation (`width: float`), base first."""
    declared = {}
    for klass in reversed(inspect.getmro(cls)):
        try:
            declared.update(inspect.get_annotations(klass))
        except Exception:  # noqa: BLE001 - an annotation that fails to read declares nothing
            continue
    return declared


def describe_member(cls, class_path, module_path, name):
    raw, owner = raw_class_attribute(cls, name)
    if raw is None:
        declared = declared_attributes(cls)
        if name in declared:
            # An instance attribute the class declares: read like a property.
            record = {
                "python_module": module_path,
                "python_name": class_path[len(module_path) + 1:] + "." + name,
                "kind": "property",
                "signature": None,
                "doc": "",
            }
            returns = annotation_text(declared[name], namespace_of(cls))
            if returns:
                record["returns"] = returns
            return record
        try:
            value = lookup(cls, name)
        except AttributeError:
            return None
        raw = value
    qualified = class_path[len(module_path) + 1:] + "." + name
    record = {"python_module": module_path, "python_name": qualified}
    if isinstance(raw, staticmethod):
        func = raw.__func__
        signature = signature_of(func, name)
        record.update(kind="static_method", signature=signature, doc=doc_of(func, name), overloads=overloads_of(func, name, signature, cls.__module__, cls.__name__))
    elif isinstance(raw, classmethod) or type(raw).__name__ == "classmethod_descriptor":
        bound = getattr(cls, name)
        signature = signature_of(bound, name)
        record.update(kind="class_method", signature=signature, doc=doc_of(bound, name), overloads=overloads_of(bound, name, signature, cls.__module__, cls.__name__))
    elif isinstance(raw, property):
        record.update(kind="property", signature=None, doc=doc_of(raw))
        returns = property_annotation(raw)
        if returns:
            record["returns"] = returns
    elif inspect.isfunction(raw) or inspect.ismethoddescriptor(raw) or inspect.isbuiltin(raw) or type(raw).__name__ in (
        "wrapper_descriptor",
        "method-wrapper",
        "cython_function_or_method",
    ):
        if inspect.isdatadescriptor(raw) and not callable(raw):
            record.update(kind="property", signature=None, doc=doc_of(raw))
        else:
            signature = signature_of(raw, name, drop_first=True)
            record.update(kind="method", signature=signature, doc=doc_of(raw, name), overloads=overloads_of(raw, name, signature, cls.__module__, cls.__name__))
    elif inspect.isdatadescriptor(raw) or not callable(raw):
        record.update(kind="property", signature=None, doc=doc_of(raw) if inspect.isdatadescriptor(raw) else own_doc(raw))
    else:
        signature = signature_of(raw, name, drop_first=True)
        record.update(kind="method", signature=signature, doc=doc_of(raw, name), overloads=overloads_of(raw, name, signature, cls.__module__, cls.__name__))
    if record["kind"] in ("method", "static_method", "class_method") and is_generator(getattr(raw, "__func__", raw)):
        record["generator"] = True
    found_in = defined_in(raw) if not isinstance(raw, (property,)) else None
    if found_in:
        record["defined_in"] = clean_text(found_in)
    elif owner is not None:
        record["defined_in"] = clean_text(defined_in(owner) or "") + "." + name
    return record


def listable_member(raw):
    """A class attribute a wrapper can reach: a method of any kind or an instance attribute's
    descriptor, never a nested class or a plain class-level value (an enum member)."""
    if inspect.isclass(raw):
        return False
    return (
        isinstance(raw, (staticmethod, classmethod, property, functools.cached_property))
        or inspect.isroutine(raw)
        or inspect.isdatadescriptor(raw)
    )


def list_public(root, library):
    """Every public symbol of a library, for `all = true`, sorted.

    A module's public names are its `__all__`, else its names without a leading underscore,
    less what it only imports (callables defined outside the library, `from __future__ import
    annotations`, `TYPE_CHECKING`). Submodules the library holds as attributes are walked
    breadth first, so each module, class and function is listed at its shortest public path
    only (under each of its names there).

    A class brings the public methods and descriptors it defines, those of bases not listed
    themselves (a private base such as pandas' `NDFrame`), and every classmethod and
    staticmethod it inherits (called on the class, they differ per class). An object a module
    holds brings the public methods of its class when that class is the library's own and not
    listed, or defined in a private module (`scipy.stats.norm.cdf`).

    Returns the entries and the containers left out because their Elixir module is another
    Python object's (the module `numpy.polynomial.chebyshev` beside the class `Chebyshev`).
    """
    entries, classes, instances, seen, seen_at = [], [], [], {id(root)}, {}
    containers = {"": root}
    level = [("", root)]
    while level:
        deeper = []
        for below, module in level:
            declared = isinstance(getattr(module, "__all__", None), (list, tuple))
            for name in public_names(module):
                if not IDENTIFIER.match(name) or (not declared and name == "TYPE_CHECKING"):
                    continue
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        value = getattr(module, name)
                except BaseException:  # noqa: BLE001 - a lazy attribute that fails is not listed
                    continue
                path = below + "." + name if below else name
                if inspect.ismodule(value):
                    held = getattr(value, "__name__", "").startswith(module.__name__ + ".")
                    if id(value) not in seen and (held or sys.modules.get(module.__name__ + "." + name) is value):
                        seen.add(id(value))
                        deeper.append((path, value))
                        containers[path] = value
                    continue
                if inspect.isclass(value) or callable(value):
                    # A builtin re-exported (`uuid.bytes_`) is Python's, not the library's;
                    # an alias in the same module (`bisect.bisect`) is a name of its own.
                    home = getattr(value, "__module__", None)
                    if seen_at.get(id(value), below) != below or home == "builtins":
                        continue
                    # A C accelerator (`_bisect` for `bisect`) is the library's own.
                    if not declared and isinstance(home, str) and home.split(".")[0].lstrip("_") != library.split(".")[0]:
                        continue
                    seen_at.setdefault(id(value), below)
                    if inspect.isclass(value):
                        classes.append((path, value))
                        containers[path] = value
                    entries.append({"below": below, "name": name, "kind": "class" if inspect.isclass(value) else "function"})
                else:
                    if not declared and type(value).__module__ == "__future__":
                        continue
                    entries.append({"below": below, "name": name, "kind": "constant"})
                # An object of the library's own class is also a module of its methods, callable
                # or not (`scipy.stats.norm(...)` and `scipy.stats.norm.cdf(...)`).
                if not inspect.isclass(value) and instance(value) and id(value) not in seen and getattr(type(value), "__module__", "").split(".")[0] == library.split(".")[0]:
                    seen.add(id(value))
                    instances.append((path, value))
                    containers[path] = value
        level = sorted(deeper, key=lambda item: item[0])
    listed = {id(cls) for _, cls in classes}

    def members(path, cls, accept, kind="member", skip_listed=True):
        owners = {}
        for klass in inspect.getmro(cls):
            for name in vars(klass):
                owners.setdefault(name, klass)
        for name, klass in owners.items():
            if name.startswith("_") or not IDENTIFIER.match(name):
                continue
            raw = vars(klass)[name]
            # A listed base serves its instance methods to every instance; a classmethod or
            # staticmethod is called on the class itself, so each class needs its own.
            on_class = isinstance(raw, (classmethod, staticmethod))
            if klass is not cls and (klass.__module__ == "builtins" or (skip_listed and id(klass) in listed and not on_class)):
                continue
            if accept(raw):
                entries.append({"below": path, "name": name, "kind": kind})

    for path, cls in classes:
        members(path, cls, listable_member)
    for path, value in instances:
        # An instance of a listed class is served by that class's methods, unless the class
        # lives in a private module: then the object is the API (`scipy.stats.norm` of
        # `scipy.stats._continuous_distns.norm_gen`) and brings every method it has.
        cls = type(value)
        private = any(part.startswith("_") for part in cls.__module__.split("."))
        if id(cls) not in listed or private:
            # Called on the object like a module's functions, they are named as functions.
            members(path, cls, inspect.isroutine, kind="function", skip_listed=not private)

    def own_path(entry):
        """The container a class entry is itself: its constructor lives there."""
        return (entry["below"] + "." if entry["below"] else "") + entry["name"]

    unreachable, reached = [], {}
    paths = {entry["below"] for entry in entries} | {own_path(e) for e in entries if e["kind"] == "class"}
    for below in sorted(paths - {""}):
        try:
            found_path, _, found = resolve_container(root, library, camelize(below).split("."))
        except BaseException:  # noqa: BLE001
            found_path, found = None, None
        reached[below] = found is containers[below]
        if not reached[below]:
            count = sum(1 for e in entries if e["below"] == below or (e["kind"] == "class" and own_path(e) == below))
            unreachable.append({"path": library + "." + below, "taken_by": found_path, "symbols": count})
    entries = [
        entry
        for entry in entries
        if reached.get(entry["below"], True) and (entry["kind"] != "class" or reached.get(own_path(entry), True))
    ]
    entries.sort(key=lambda e: (e["below"], e["name"], e["kind"]))
    return entries, unreachable


class Ambiguous(Exception):
    """An Elixir name two Python names map to: `py_end` for `end` beside a real `py_end`."""

    def __init__(self, names):
        super().__init__(names)
        self.names = names


def has_name(container, kind, name):
    if kind == "class":
        return raw_class_attribute(container, name)[0] is not None
    try:
        lookup(container, name)
        return True
    except AttributeError:
        return False


def is_generator(obj):
    """Whether calling `obj` makes a generator: a generator function, unwrapped."""
    try:
        return inspect.isgeneratorfunction(inspect.unwrap(obj))
    except Exception:  # noqa: BLE001 - a broken `__wrapped__` chain says nothing
        return False


def describe_setter(cls, class_path, module_path, name):
    """A setter for `name` when instances of `cls` may be given it: a property with a setter,
    a `__slots__` member, a dataclass field of an unfrozen dataclass, or an attribute the class
    declares (annotated, or a plain class-level value instances shadow). `None` otherwise."""
    raw, _ = raw_class_attribute(cls, name)
    annotation = None
    doc = ""
    fields = getattr(cls, "__dataclass_fields__", None) or {}
    params = getattr(cls, "__dataclass_params__", None)
    declared = declared_attributes(cls)
    if isinstance(raw, property):
        if raw.fset is None:
            return None
        try:
            value = list(inspect.signature(raw.fset).parameters.values())[1:2]
            annotation = annotation_text(value[0].annotation, namespace_of(raw.fset)) if value else None
        except (TypeError, ValueError):
            annotation = None
        annotation = annotation or property_annotation(raw)
        doc = doc_of(raw)
    elif name in fields:
        if params is not None and getattr(params, "frozen", False):
            return None
        annotation = annotation_text(declared.get(name, inspect.Parameter.empty), namespace_of(cls))
    elif type(raw).__name__ == "member_descriptor" or name in declared:
        annotation = annotation_text(declared.get(name, inspect.Parameter.empty), namespace_of(cls))
    elif raw is None or callable(raw) or inspect.isdatadescriptor(raw) or isinstance(raw, (classmethod, staticmethod)):
        return None
    param = {"python_name": "value", "kind": "positional_or_keyword"}
    if annotation is not None:
        param["annotation"] = annotation
    return {
        "kind": "setter",
        "python_module": module_path,
        "python_name": class_path[len(module_path) + 1:] + "." + name,
        "signature": {"params": [param], "source": "inspect"},
        "doc": doc,
    }


def describe(container, container_path, kind, module_path, candidates):
    """Resolves a called name in a resolved module or class; refuses one that stands for two
    Python names (a renamed one and one spelled like the rename)."""
    # `new` in a class module is always the constructor (a method `new` is `py_new`).
    found = [name for name in candidates if has_name(container, kind, name)]
    if len(found) > 1 and not (kind == "class" and candidates == ["new"]):
        raise Ambiguous(found)
    if kind == "class" and candidates == ["new"]:
        record = {
            "kind": "constructor",
            "python_module": module_path,
            "python_name": container_path[len(module_path) + 1:],
            "signature": signature_of(container, container.__name__),
            "doc": doc_of(container, container.__name__),
        }
        where = defined_in(container)
        if where:
            record["defined_in"] = where
        return record
    for name in candidates:
        if kind == "class":
            record = describe_member(container, container_path, module_path, name)
            if record is not None:
                return record
            continue
        try:
            value = lookup(container, name)
        except AttributeError:
            continue
        record = {"python_module": module_path, "python_name": name}
        if inspect.ismodule(value):
            record.update(kind="module", doc="")
        elif callable(value):
            signature = signature_of(value, name)
            record.update(kind="function", signature=signature, doc=doc_of(value, name), overloads=overloads_of(value, name, signature, getattr(container, "__name__", None)))
        else:
            record.update(kind="constant", signature=None, doc=own_doc(value), type=defined_in(type(value)) or "")
        where = defined_in(value)
        if where and not record["kind"] == "constant":
            record["defined_in"] = clean_text(where)
        if record["kind"] == "function" and is_generator(value):
            record["generator"] = True
        return record
    # `set_x` of a class with no attribute `set_x` writes its attribute `x`.
    if kind == "class" and candidates[-1].startswith("set_"):
        record = describe_setter(container, container_path, module_path, candidates[-1][len("set_"):])
        if record is not None:
            return record
    raise NotFound(container_path + "." + candidates[-1], close_matches(candidates[-1], container))


def distribution_of(module_name):
    try:
        dists = importlib.metadata.packages_distributions().get(module_name.split(".")[0], [])
    except Exception:
        dists = []
    return sorted(dists)[0] if dists else None


def closure(distribution):
    """`name==version` for a distribution and everything it requires, sorted."""
    seen, pending = {}, [distribution]
    while pending:
        name = pending.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in seen:
            continue
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        seen[key] = dist.version
        for requirement in dist.requires or []:
            if "extra ==" in requirement or "extra==" in requirement:
                continue
            match = re.match(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
            if match:
                pending.append(match.group(1))
    return sorted(k + "==" + v for k, v in seen.items())


def python_identity():
    return {
        "implementation": sys.implementation.name,
        "version": platform.python_version(),
        "platform": sysconfig.get_platform(),
    }


def relative_traceback(error):
    lines = traceback.format_exception(type(error), error, error.__traceback__)
    text = "".join(lines[-12:])
    for prefix in sorted({p for p in sys.path if p and os.path.isabs(p)}, key=len, reverse=True):
        text = text.replace(prefix + os.sep, "")
    return clean_text(text)


def error_record(kind, error):
    name = type(error).__name__
    module = type(error).__module__
    qualified = name if module == "builtins" else module + "." + name
    return {"kind": kind, "type": qualified, "message": clean_text(str(error)), "traceback": relative_traceback(error)}


def introspect(request):
    library = request["library"]
    for path in reversed(request.get("sys_path", [])):
        sys.path.insert(0, path)
    reply = {"schema": SCHEMA, "python": python_identity(), "library": None, "error": None, "modules": [], "symbols": [], "public": []}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            root = importlib.import_module(library)
    except ModuleNotFoundError as error:
        if error.name and library.startswith(error.name):
            reply["error"] = {"kind": "package_not_found", "type": "ModuleNotFoundError", "message": clean_text(str(error)), "traceback": ""}
        else:
            reply["error"] = error_record("import_error", error)
        return reply
    except BaseException as error:  # noqa: BLE001 - any failure while importing is reported
        reply["error"] = error_record("import_error", error)
        return reply

    if request.get("stdlib"):
        version, dist, packages = platform.python_version(), "<stdlib>", []
    else:
        dist = distribution_of(library)
        version = importlib.metadata.version(dist) if dist else None
        packages = closure(dist) if dist else []
    reply["library"] = {
        "module": library,
        "distribution": dist,
        "version": version,
        "packages": packages,
        "doc": doc_of(root),
    }

    if request.get("list"):
        reply["public"], reply["unreachable"] = list_public(root, library)

    def container(segments):
        path, kind, obj = resolve_container(root, library, segments)
        module_path = path
        if kind == "class":
            # The module that holds a class is the longest prefix of its path that is a module.
            parts = path.split(".")
            for i in range(len(parts) - 1, 0, -1):
                candidate = ".".join(parts[:i])
                if inspect.ismodule(sys.modules.get(candidate)):
                    module_path = candidate
                    break
        return path, kind, obj, module_path

    for segments in request.get("modules", []):
        try:
            path, kind, obj, _ = container(segments)
            reply["modules"].append({"status": "ok", "python_path": path, "kind": kind, "doc": doc_of(obj)})
        except NotFound as missing:
            reply["modules"].append({"status": "not_found", "missing": missing.path, "suggestions": missing.suggestions})
        except BaseException as error:  # noqa: BLE001
            reply["modules"].append({"status": "error", **error_record("import_error", error)})

    for entry in request.get("symbols", []):
        try:
            path, kind, obj, module_path = container(entry["module"])
            try:
                record = describe(obj, path, kind, module_path, entry["candidates"])
            except NotFound:
                if not entry.get("stream_of"):
                    raise
                record = describe(obj, path, kind, module_path, entry["stream_of"])
                record["stream_wrapper"] = True
            reply["symbols"].append({"status": "ok", **record})
        except NotFound as missing:
            reply["symbols"].append({"status": "not_found", "missing": missing.path, "suggestions": missing.suggestions})
        except Ambiguous as ambiguous:
            reply["symbols"].append({"status": "ambiguous", "names": ambiguous.names})
        except BaseException as error:  # noqa: BLE001
            reply["symbols"].append({"status": "error", **error_record("error", error)})
    return reply


def main():
    request = json.loads(sys.stdin.buffer.read().decode("utf-8"))
    # Libraries print at import time; keep the reply channel clean.
    sys.stdout.flush()
    reply_fd = os.dup(1)
    os.dup2(2, 1)
    try:
        reply = introspect(request)
    finally:
        sys.stdout.flush()
        os.dup2(reply_fd, 1)
    data = json.dumps(reply, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    with os.fdopen(reply_fd, "wb") as out:
        out.write(data.encode("utf-8", "replace"))


if __name__ == "__main__":
    main()
