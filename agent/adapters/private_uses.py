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

Run `python -m agent.adapters.private_uses [ROOT]` from a project root for the list (the
count on an older commit: its `agent/` and `processors/` extracted with this file and
private_names.py copied in); tests/adapters/test_private_uses.py holds the project to
"only under agent/adapters/".
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path

from agent.adapters.private_names import (
    ThirdParty,
    class_privates,
    is_private,
    is_third_party,
    module_privates,
    mro_privates,
    third_party,
)

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
            if is_third_party(target) and self._is_module(target):
                self.module_aliases.add(local)
        self.own = module_privates(tree) | {
            n for node, _ in _classes_anywhere(tree) for n in class_privates(node)
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
                privates |= mro_privates(other, self.tp)
        return privates

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        privates: set[str] | None = set()
        if not self.stack and node.name in self.top_classes:
            privates |= self._same_module_family(node.name)
        unknown = False
        for base in node.bases:
            cls = self._resolve(base)
            if isinstance(cls, type):
                privates |= mro_privates(cls, self.tp)
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

    def class_privates(self) -> set[str]:
        for _, privates in reversed(self.stack):
            return privates or set()
        return set()

    def visit_Attribute(self, node: ast.Attribute) -> None:
        name, value = node.attr, node.value
        if is_private(name):
            on_self = isinstance(value, ast.Name) and value.id in ("self", "cls")
            on_super = (
                isinstance(value, ast.Call)
                and isinstance(value.func, ast.Name)
                and value.func.id == "super"
            )
            if on_self or on_super:
                if name in self.class_privates():
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
            if is_private(name) and (
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
