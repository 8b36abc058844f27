"""Find the project's uses of private pipecat and provider-SDK names, by file and line.

A private name is one starting with `_` that pipecat (or the SDKs it wraps: deepgram,
openai) defines: a `def _x` or `_x = ...` in one of their classes or modules, or a
`self._x = ...` in one of their classes' methods. Read from the installed sources' syntax
trees, so the list follows the installed versions.

A use, in the project's code:
- `override`: a `def _x` in a class whose bases include a pipecat/SDK class that defines `_x`;
- `attribute`: `self._x` / `super()._x` in such a class, for an `_x` its pipecat/SDK bases define;
- `module`: `mod._x` where `mod` is an imported pipecat/SDK module (a patch or a private call);
- `object`: `obj._x` (or `getattr(obj, "_x")`) on anything else, for an `_x` that pipecat or
  an SDK defines somewhere and the scanned file itself does not (a syntactic guess: the
  object's type is not known here, so another library's private of the same name counts).

A class whose base cannot be told statically (a class factory's parameter) is taken to
derive from pipecat: every private name pipecat or an SDK defines counts in it.

Run `python -m agent.adapters.private_uses [paths]` for the list; tests/adapters/
test_private_uses.py holds the project to "only under agent/adapters/".
"""

from __future__ import annotations

import ast
import functools
import importlib
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path

THIRD_PARTY = ("pipecat", "deepgram", "openai")
ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("agent", "processors")
NOT_SCANNED = ("agent/sim",)


@dataclass(frozen=True)
class Use:
    path: str  # relative to the project root
    line: int
    kind: str  # override | attribute | module | object
    name: str
    where: str  # the class or module it belongs to

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.kind} {self.name} ({self.where})"


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _self_assigned(func: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(func):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.ctx, ast.Store)
            and isinstance(node.value, ast.Name)
            and node.value.id in ("self", "cls")
            and _private(node.attr)
        ):
            names.add(node.attr)
    return names


def _class_privates(cls: ast.ClassDef) -> set[str]:
    names = set()
    for item in cls.body:
        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if _private(item.name):
                names.add(item.name)
            names |= _self_assigned(item)
        elif isinstance(item, (ast.Assign, ast.AnnAssign)):
            targets = item.targets if isinstance(item, ast.Assign) else [item.target]
            names |= {t.id for t in targets if isinstance(t, ast.Name) and _private(t.id)}
    return names


def _module_privates(tree: ast.Module) -> set[str]:
    names = set()
    for item in tree.body:
        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if _private(item.name):
                names.add(item.name)
        elif isinstance(item, (ast.Assign, ast.AnnAssign)):
            targets = item.targets if isinstance(item, ast.Assign) else [item.target]
            names |= {t.id for t in targets if isinstance(t, ast.Name) and _private(t.id)}
        elif isinstance(item, (ast.Import, ast.ImportFrom)):
            names |= {a.asname or a.name for a in item.names if _private(a.asname or a.name)}
    return names


@dataclass
class ThirdParty:
    """Private names of the installed pipecat/SDK sources, per class and per module."""

    classes: dict[str, set[str]]  # "module:Qual.Name" → private names it defines
    modules: dict[str, set[str]]  # "module" → private names defined at its top level
    all_names: set[str]


@functools.cache
def third_party(packages: tuple[str, ...] = THIRD_PARTY) -> ThirdParty:
    classes: dict[str, set[str]] = {}
    modules: dict[str, set[str]] = {}
    for package in packages:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            continue
        base = Path(next(iter(spec.submodule_search_locations)))
        for path in base.rglob("*.py"):
            parts = list(path.relative_to(base.parent).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            module = ".".join(parts)
            try:
                tree = ast.parse(path.read_bytes())
            except (SyntaxError, ValueError):
                continue
            modules[module] = _module_privates(tree)
            for node, qual in _classes(tree):
                classes[f"{module}:{qual}"] = _class_privates(node)
    all_names = set().union(*classes.values(), *modules.values())
    return ThirdParty(classes, modules, all_names)


def _classes(tree: ast.AST, prefix: str = ""):
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.ClassDef):
            yield node, prefix + node.name
            yield from _classes(node, prefix + node.name + ".")


def _is_third_party(module: str) -> bool:
    return module.split(".")[0] in THIRD_PARTY


def _mro_privates(cls: type, tp: ThirdParty) -> set[str]:
    names: set[str] = set()
    for klass in cls.__mro__:
        if _is_third_party(klass.__module__):
            names |= tp.classes.get(f"{klass.__module__}:{klass.__qualname__}", set())
    return names


class _Scanner(ast.NodeVisitor):
    def __init__(self, path: str, module: str, tree: ast.Module, tp: ThirdParty):
        self.path, self.module_name, self.tp = path, module, tp
        self.uses: list[Use] = []
        self.imports: dict[str, str] = {}  # local name → dotted target, from any scope
        self.module_aliases: set[str] = set()  # names bound to third-party modules
        self.project_aliases: set[str] = set()  # names bound to the project's own modules
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    self.imports[a.asname or a.name.split(".")[0]] = (
                        a.name if a.asname else a.name.split(".")[0]
                    )
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for a in node.names:
                    self.imports[a.asname or a.name] = f"{node.module}.{a.name}"
        for local, target in self.imports.items():
            if target.split(".")[0] in SCANNED:
                self.project_aliases.add(local)
            if _is_third_party(target) and self._is_module(target):
                self.module_aliases.add(local)
        self.own = _module_privates(tree) | {
            n for node, _ in _classes_anywhere(tree) for n in _class_privates(node)
        }
        self.top_classes = {n.name for n in tree.body if isinstance(n, ast.ClassDef)}
        self.stack: list[tuple[str, set[str] | None]] = []  # (class, its third-party privates)

    @staticmethod
    def _is_module(target: str) -> bool:
        try:
            return importlib.util.find_spec(target) is not None
        except (ImportError, ValueError):
            return False

    def _resolve(self, expr: ast.expr) -> object | None:
        """The class a base expression names, or None if it cannot be told statically."""
        dotted = None
        if isinstance(expr, ast.Name):
            if expr.id in self.imports:
                dotted = self.imports[expr.id]
            elif expr.id in self.top_classes:
                dotted = f"{self.module_name}.{expr.id}"
        elif (
            isinstance(expr, ast.Attribute)
            and isinstance(expr.value, ast.Name)
            and expr.value.id in self.imports
        ):
            dotted = f"{self.imports[expr.value.id]}.{expr.attr}"
        if dotted is None:
            return None
        module, _, attr = dotted.rpartition(".")
        try:
            return getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError):
            return None

    def _same_module_family(self, name: str) -> set[str]:
        """Third-party privates of a top-level class and of its subclasses in this module
        (a mixin's `super()._x` reaches the pipecat class it is mixed into)."""
        try:
            module = importlib.import_module(self.module_name)
        except ImportError:
            return set()
        cls = getattr(module, name, None)
        if not isinstance(cls, type):
            return set()
        privates: set[str] = set()
        for other in vars(module).values():
            if isinstance(other, type) and cls in other.__mro__:
                privates |= _mro_privates(other, self.tp)
        return privates

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        privates: set[str] | None = set()
        if not self.stack and node.name in self.top_classes:
            privates |= self._same_module_family(node.name)
        unknown = False
        for base in node.bases:
            cls = self._resolve(base)
            if isinstance(cls, type):
                privates |= _mro_privates(cls, self.tp)
            elif not (isinstance(base, ast.Name) and base.id in ("object", "Exception")):
                unknown = True  # e.g. a class factory's parameter: assume pipecat's
        if unknown:
            privates |= self.tp.all_names
        self.stack.append((node.name, privates or None))
        for item in node.body:
            is_def = isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))
            if is_def and privates and item.name in privates:
                self._add(item, "override", item.name)
            self.visit(item)
        self.stack.pop()

    def _add(self, node: ast.AST, kind: str, name: str) -> None:
        where = self.stack[-1][0] if self.stack else self.module_name
        self.uses.append(Use(self.path, node.lineno, kind, name, where))

    def _class_privates(self) -> set[str]:
        for _, privates in reversed(self.stack):
            return privates or set()
        return set()

    def visit_Attribute(self, node: ast.Attribute) -> None:
        name, value = node.attr, node.value
        if _private(name):
            on_self = isinstance(value, ast.Name) and value.id in ("self", "cls")
            on_super = (
                isinstance(value, ast.Call)
                and isinstance(value.func, ast.Name)
                and value.func.id == "super"
            )
            if on_self or on_super:
                if name in self._class_privates():
                    self._add(node, "attribute", name)
            elif isinstance(value, ast.Name) and value.id in self.module_aliases:
                self._add(node, "module", name)
            elif isinstance(value, ast.Name) and value.id in self.project_aliases:
                pass  # the project's own private name
            elif name in self.tp.all_names and name not in self.own:
                self._add(node, "object", name)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if (
            isinstance(func, ast.Name)
            and func.id in ("getattr", "setattr", "hasattr")
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
        ):
            name = node.args[1].value
            target = node.args[0]
            if _private(name) and (
                (isinstance(target, ast.Name) and target.id in self.module_aliases)
                or (name in self.tp.all_names and name not in self.own)
            ):
                self._add(node, "object", name)
        self.generic_visit(node)


def _classes_anywhere(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            yield node, node.name


def project_files(root: Path = ROOT) -> list[Path]:
    files = []
    for top in SCANNED:
        for path in sorted((root / top).rglob("*.py")):
            rel = path.relative_to(root).as_posix()
            if not any(rel.startswith(prefix + "/") for prefix in NOT_SCANNED):
                files.append(path)
    return files


def scan_file(path: Path, root: Path = ROOT) -> list[Use]:
    rel = path.relative_to(root)
    parts = list(rel.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    tree = ast.parse(path.read_bytes())
    scanner = _Scanner(rel.as_posix(), ".".join(parts), tree, third_party())
    scanner.visit(tree)
    return scanner.uses


def scan(root: Path = ROOT, files: list[Path] | None = None) -> list[Use]:
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    uses: list[Use] = []
    for path in files if files is not None else project_files(root):
        uses += scan_file(path, root)
    return uses


def main(argv: list[str]) -> int:
    # Run as a script, this file's folder would come first on sys.path, and its
    # deepgram.py would shadow the Deepgram SDK.
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    root = Path(argv[0]).resolve() if argv else ROOT
    uses = scan(root)
    by_file: dict[str, int] = {}
    for use in uses:
        print(use)
        by_file[use.path] = by_file.get(use.path, 0) + 1
    print()
    for path, count in sorted(by_file.items(), key=lambda kv: -kv[1]):
        print(f"{count:4d} {path}")
    kinds = {k: sum(1 for u in uses if u.kind == k) for k in sorted({u.kind for u in uses})}
    names = len({(u.path, u.where, u.name) for u in uses})
    print(f"{len(uses)} uses ({kinds}); {names} distinct (file, class, name)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
