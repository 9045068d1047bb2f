"""The import direction of ARCHITECTURE.md, checked by walking every module's imports with ``ast``.

    service → idp | issuer | wallet | verifier → credentials | storage → keys

A package may import itself and any package strictly below it; the four middle packages may not
import each other, nor may ``credentials`` and ``storage``. Imports inside functions count too.
Pure cores import no framework or I/O library (also not through the project modules they import),
and only ``keys/`` touches ``cryptography.hazmat``.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Each package and the project packages it may import (besides itself).
ALLOWED: dict[str, frozenset[str]] = {
    "service": frozenset({"idp", "issuer", "wallet", "verifier", "credentials", "storage", "keys"}),
    "idp": frozenset({"credentials", "storage", "keys"}),
    "issuer": frozenset({"credentials", "storage", "keys"}),
    "wallet": frozenset({"credentials", "storage", "keys"}),
    "verifier": frozenset({"credentials", "storage", "keys"}),
    "credentials": frozenset({"keys"}),
    "storage": frozenset({"keys"}),
    "keys": frozenset(),
}
PACKAGES = tuple(ALLOWED)

# Pure cores: no web framework, no Redis, no SQL, no QR rendering.
PURE_CORES = ("credentials/", "verifier/pipeline.py", "wallet/presenter.py", "issuer/issuance.py", "issuer/validation.py",
              "issuer/health/colours.py", "issuer/health/models.py", "issuer/health/errors.py")
IMPURE_LIBRARIES = ("flask", "redis", "sqlalchemy", "qrcode")

HAZMAT = "cryptography.hazmat"
HAZMAT_OWNER = "keys/"
# Files outside keys/ allowed to import cryptography.hazmat for now (none: keep it that way).
HAZMAT_ALLOWLIST_TO_BE_REMOVED: set[str] = set()


def _files() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _module_name(rel: str) -> str:
    parts = rel.removesuffix(".py").split("/")
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve_relative(rel: str, node: ast.ImportFrom) -> str:
    package = _module_name(rel).split(".")
    if not rel.endswith("__init__.py"):
        package = package[:-1]
    base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
    return ".".join([*base, node.module] if node.module else base)


@cache
def _imports(rel: str, *, module_level_only: bool = False) -> tuple[tuple[str, int], ...]:
    """Every imported module name of one file, with its line; ``from a import b`` yields ``a`` and ``a.b``."""
    tree = ast.parse((ROOT / rel).read_text(encoding="utf-8"), filename=rel)
    nodes = _walk_module_level(tree) if module_level_only else ast.walk(tree)
    found: list[tuple[str, int]] = []
    for node in nodes:
        if isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = _resolve_relative(rel, node) if node.level else node.module or ""
            found.append((module, node.lineno))
            found.extend((f"{module}.{alias.name}", node.lineno) for alias in node.names if alias.name != "*")
    return tuple(found)


_DEFERRED = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


def _walk_module_level(tree: ast.AST):
    """Like ``ast.walk`` but not into function bodies: the imports that run when the module is imported."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(n for n in ast.iter_child_nodes(node) if not isinstance(n, _DEFERRED))


def _top(module: str) -> str:
    return module.split(".", 1)[0]


def _is_under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def _report(title: str, offences: list[str]) -> str:
    return f"{title} ({len(offences)}):\n  " + "\n  ".join(offences)


def test_every_package_is_walked():
    files = {_rel(p) for p in _files()}
    assert files, f"no Python files found under {ROOT}"
    missing = [p for p in PACKAGES if f"{p}/__init__.py" not in files]
    assert not missing, f"packages without an __init__.py: {missing}"


def test_imports_point_downward():
    offences = []
    for path in _files():
        rel = _rel(path)
        own = rel.split("/", 1)[0]
        seen = set()
        for module, line in _imports(rel):
            target = _top(module)
            if target in ALLOWED and target != own and target not in ALLOWED[own] and (target, line) not in seen:
                seen.add((target, line))
                offences.append(f"{rel}:{line} imports {module} ({own} may import only {sorted(ALLOWED[own]) or 'itself'})")
    assert not offences, _report(
        "imports against service → idp|issuer|wallet|verifier → credentials|storage → keys", offences
    )


def _project_file(module: str) -> str | None:
    """The file that defines ``module`` if it is one of ours, else None."""
    if _top(module) not in ALLOWED:
        return None
    base = module.replace(".", "/")
    for candidate in (f"{base}.py", f"{base}/__init__.py"):
        if (ROOT / candidate).is_file():
            return candidate
    return None


def _loaded_files(rel: str) -> list[str]:
    """Project files Python executes when it imports ``rel``'s module: its parent packages' __init__s."""
    parts = _module_name(rel).split(".")
    return [f for i in range(1, len(parts)) if (f := _project_file(".".join(parts[:i]))) and f != rel]


def _impure_chains(start: str) -> list[str]:
    """One chain ``start → ... → file:line imports library`` per offending import line reached from ``start``."""
    found: dict[tuple[str, int], str] = {}
    seen = {start}
    queue: list[tuple[str, tuple[str, ...]]] = [(start, (start,))]
    while queue:
        rel, chain = queue.pop(0)
        # The file itself: every import, even inside functions. Files reached through it: what runs at import.
        for module, line in _imports(rel, module_level_only=rel != start):
            library = next((lib for lib in IMPURE_LIBRARIES if _is_under(module, lib)), None)
            if library and (rel, line) not in found:
                found[(rel, line)] = " → ".join(chain) + f":{line} imports {library}"
            target = _project_file(module)
            for nxt in ([target] if target else []) + _loaded_files(target or ""):
                if nxt not in seen:
                    seen.add(nxt)
                    queue.append((nxt, (*chain, nxt)))
        for nxt in _loaded_files(rel):
            if nxt not in seen:
                seen.add(nxt)
                queue.append((nxt, (*chain, nxt)))
    return list(found.values())


def test_pure_cores_import_no_frameworks():
    cores = [_rel(p) for p in _files() if any(_rel(p) == c or (c.endswith("/") and _rel(p).startswith(c)) for c in PURE_CORES)]
    assert any(c.startswith("credentials/") for c in cores) and len(cores) > 4, f"pure cores not found: {cores}"
    offences = [chain for rel in cores for chain in _impure_chains(rel)]
    title = f"pure cores importing {', '.join(IMPURE_LIBRARIES)} (directly or through our modules)"
    assert not offences, _report(title, offences)


def test_only_keys_touches_cryptography_hazmat():
    offences = []
    for path in _files():
        rel = _rel(path)
        if rel.startswith(HAZMAT_OWNER) or rel in HAZMAT_ALLOWLIST_TO_BE_REMOVED:
            continue
        lines = sorted({line for module, line in _imports(rel) if _is_under(module, HAZMAT)})
        offences.extend(f"{rel}:{line} imports {HAZMAT}" for line in lines)
    assert not offences, _report(f"only {HAZMAT_OWNER} may import {HAZMAT}: use keys.PublicKey/PrivateKey", offences)


def test_hazmat_allowlist_names_only_files_that_still_need_it():
    """An exception that is no longer used is removed, so it cannot quietly cover a new import later."""
    stale = [rel for rel in sorted(HAZMAT_ALLOWLIST_TO_BE_REMOVED)
             if not (ROOT / rel).is_file() or not any(_is_under(module, HAZMAT) for module, _line in _imports(rel))]
    assert not stale, f"hazmat allowlist names files that no longer import {HAZMAT}, remove them: {stale}"


# issuer/health/ sits on top of the rest of issuer (it issues through issuer.service): the issuer's core does not
# import it. The exceptions, each for one reason; keep the list short.
HEALTH_PACKAGE = "issuer.health"
HEALTH_IMPORTERS_IN_ISSUER = {
    "issuer/cli.py": "attaches the health commands and builds the desk",
    "issuer/migrate.py": "migrates every issuer table, the health tables too",
    "issuer/pii_migrate.py": "seals every issuer table's personal data, the health tables' too",
    "issuer/vci.py": "the credential endpoint leaves the health-code type to the health endpoint (HEALTH_CODE)",
}


def test_the_issuer_core_does_not_import_health():
    offences = []
    for path in sorted((ROOT / "issuer").rglob("*.py")):
        rel = _rel(path)
        if rel.startswith("issuer/health/") or rel.startswith("issuer/migrations/") or rel in HEALTH_IMPORTERS_IN_ISSUER:
            continue
        lines = sorted({line for module, line in _imports(rel) if _is_under(module, HEALTH_PACKAGE)})
        offences.extend(f"{rel}:{line} imports {HEALTH_PACKAGE}" for line in lines)
    assert not offences, _report(f"the issuer's core importing {HEALTH_PACKAGE} (it sits above the core)", offences)
    stale = [rel for rel in HEALTH_IMPORTERS_IN_ISSUER
             if not any(_is_under(module, HEALTH_PACKAGE) for module, _line in _imports(rel))]
    assert not stale, f"remove from HEALTH_IMPORTERS_IN_ISSUER, they no longer import {HEALTH_PACKAGE}: {stale}"


def test_health_modules_are_small():
    """One job per module (ARCHITECTURE.md principle 13): the health package's modules stay near 250 lines."""
    big = {_rel(p): n for p in (ROOT / "issuer" / "health").rglob("*.py")
           if (n := len(p.read_text(encoding="utf-8").splitlines())) > 360}
    assert not big, f"split these health modules: {big}"
