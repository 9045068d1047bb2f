"""The import direction of ARCHITECTURE.md, checked by walking every module's imports with ``ast``.

    service → idp | issuer | wallet | verifier → credentials | storage → keys

A package may import itself and any package strictly below it; the four middle packages may not
import each other, nor may ``credentials`` and ``storage``. Imports inside functions count too.
A package's modules import each other without loops (``if TYPE_CHECKING:`` imports aside).
Pure cores import no framework or I/O library (also not through the project modules they import),
and only ``keys/`` touches ``cryptography.hazmat``.
"""

from __future__ import annotations

import ast
import sys
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


# Native crypto libraries besides cryptography: each is imported by one keys/ module, which wraps it behind
# keys.PrivateKey / keys.PublicKey (the SM2 library in keys/sm2.py, the PKCS#11 binding in keys/pkcs11.py).
NATIVE_CRYPTO_OWNERS = {"gmalglib": "keys/sm2.py", "pkcs11": "keys/pkcs11.py"}


def test_native_crypto_libraries_stay_in_their_keys_module():
    offences = []
    for path in _files():
        rel = _rel(path)
        for library, owner in NATIVE_CRYPTO_OWNERS.items():
            if rel == owner:
                continue
            lines = sorted({line for module, line in _imports(rel) if _is_under(module, library)})
            offences.extend(f"{rel}:{line} imports {library} (only {owner} may)" for line in lines)
    assert not offences, _report("native crypto libraries imported outside their keys/ module", offences)


# X.509 certificates (EU DCC document signers) are read in keys/x509_dsc.py only, which hands out a small API.
X509_LIBRARIES = ("cryptography.x509", "asn1crypto")


def test_x509_parsing_stays_in_keys():
    offences = []
    for path in _files():
        rel = _rel(path)
        if rel.startswith("keys/"):
            continue
        lines = sorted({line for module, line in _imports(rel) if any(_is_under(module, lib) for lib in X509_LIBRARIES)})
        offences.extend(f"{rel}:{line} parses X.509 outside keys/" for line in lines)
    assert not offences, _report("X.509 libraries imported outside keys/", offences)


def test_hazmat_allowlist_names_only_files_that_still_need_it():
    """An exception that is no longer used is removed, so it cannot quietly cover a new import later."""
    stale = [rel for rel in sorted(HAZMAT_ALLOWLIST_TO_BE_REMOVED)
             if not (ROOT / rel).is_file() or not any(_is_under(module, HAZMAT) for module, _line in _imports(rel))]
    assert not stale, f"hazmat allowlist names files that no longer import {HAZMAT}, remove them: {stale}"


# -- no import loops inside a package ------------------------------------------------------------------
# Loops that exist today outside the package being restructured, each to be broken by its owner (empty: keep
# it that way). A key is the loop's files, sorted and joined by " ".
IMPORT_LOOPS_TO_BE_REMOVED: set[str] = set()


def _is_type_checking(node: ast.AST) -> bool:
    test = node.test if isinstance(node, ast.If) else None
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _runtime_import_nodes(tree: ast.AST):
    """Every import statement that can run, in functions too; not the ``if TYPE_CHECKING:`` ones."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        children = list(ast.iter_child_nodes(node))
        if _is_type_checking(node):
            children = list(node.orelse)
        stack.extend(children)


@cache
def _module_edges(rel: str) -> tuple[tuple[str, int], ...]:
    """The project files ``rel`` imports at run time, with the line: ``from pkg import submodule`` points at the
    submodule, ``from pkg import name`` at the package's ``__init__``."""
    tree = ast.parse((ROOT / rel).read_text(encoding="utf-8"), filename=rel)
    edges: list[tuple[str, int]] = []
    for node in _runtime_import_nodes(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            module = _resolve_relative(rel, node) if node.level else node.module or ""
            targets = [f"{module}.{a.name}" if _project_file(f"{module}.{a.name}") else module for a in node.names]
        edges.extend((f, node.lineno) for t in targets if (f := _project_file(t)) and f != rel)
    return tuple(edges)


def _import_loops(package: str) -> list[list[str]]:
    """The strongly connected components (Tarjan) of ``package``'s module graph that are loops."""
    files = [_rel(p) for p in _files() if _rel(p).startswith(package + "/")]
    graph = {f: sorted({t for t, _ in _module_edges(f) if t.startswith(package + "/")}) for f in files}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    loops: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                loops.append(sorted(component))

    for f in files:
        if f not in index:
            visit(f)
    return loops


def test_no_import_loops_inside_a_package():
    """ARCHITECTURE.md principle 13: a package's modules form a hierarchy. Imports inside functions count (a
    deferred import is a loop hidden, not removed); ``if TYPE_CHECKING:`` imports do not (they never run)."""
    offences = []
    for package in PACKAGES:
        for loop in _import_loops(package):
            key = " ".join(loop)
            if key in IMPORT_LOOPS_TO_BE_REMOVED:
                continue
            detail = [f"{f}:{line} imports {t}" for f in loop for t, line in _module_edges(f) if t in loop]
            offences.append(f"{key}\n    " + "\n    ".join(detail))
    assert not offences, _report("import loops inside a package (move what both sides need into a lower module)",
                                 offences)


def test_import_loop_allowlist_names_only_loops_that_still_exist():
    current = {" ".join(loop) for package in PACKAGES for loop in _import_loops(package)}
    stale = sorted(IMPORT_LOOPS_TO_BE_REMOVED - current)
    assert not stale, f"import-loop allowlist names loops that are gone, remove them: {stale}"


def test_the_import_loop_check_sees_a_loop(tmp_path, monkeypatch):
    """The checker itself: two modules importing each other, one only inside a function, are one loop."""
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "__init__.py").write_text("")
    (tmp_path / "keys" / "a.py").write_text("from keys.b import f\n")
    (tmp_path / "keys" / "b.py").write_text("def f():\n    from keys import a\n")
    (tmp_path / "keys" / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from keys import a\n")
    (tmp_path / "keys" / "d.py").write_text("from keys import c\n")
    this = sys.modules[__name__]
    monkeypatch.setattr(this, "ROOT", tmp_path)
    monkeypatch.setattr(this, "_files", lambda: sorted((tmp_path / "keys").glob("*.py")))
    _module_edges.cache_clear()
    try:
        assert _import_loops("keys") == [["keys/a.py", "keys/b.py"]]
    finally:
        _module_edges.cache_clear()


ENVIRONMENT_READER = "service/config.py"  # ``Settings.from_env``: every other package takes values as parameters


def _reads_environment(tree: ast.AST) -> list[int]:
    """Lines naming ``os.environ`` / ``os.getenv`` / ``os.environb`` (or importing them from ``os``)."""
    names = {"environ", "getenv", "environb"}
    lines = [node.lineno for node in ast.walk(tree)
             if isinstance(node, ast.Attribute) and node.attr in names
             and isinstance(node.value, ast.Name) and node.value.id == "os"]
    lines += [node.lineno for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module == "os"
              and any(alias.name in names for alias in node.names)]
    return sorted(lines)


def test_only_the_settings_read_the_environment():
    """ARCHITECTURE.md principle 8, one configuration path: one table of variables, one reader."""
    offences = []
    for path in _files():
        rel = _rel(path)
        if rel != ENVIRONMENT_READER:
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=rel)
            offences.extend(f"{rel}:{line} reads the environment" for line in _reads_environment(tree))
    assert not offences, _report(f"only {ENVIRONMENT_READER} reads the environment: add the variable to "
                                 "service.config.VARIABLES and pass the value down", offences)


def test_every_variable_the_settings_read_is_in_the_table():
    from service.config import DEFAULTS, VARIABLES

    assert len(DEFAULTS) == len(VARIABLES)
    source = (ROOT / ENVIRONMENT_READER).read_text(encoding="utf-8")
    for name in ("TONGBAN_KEY_PASSPHRASE", "TONGBAN_DEV_PLAINTEXT_KEYS", "TONGBAN_IDP_SECRET", "TONGBAN_ISSUER_SECRET",
                 "REDIS_URL", "TONGBAN_PROXY_HOPS", "TONGBAN_TLS_TERMINATED_BY_PROXY"):
        assert name in DEFAULTS, name
    assert "os.environ" in source


# File names of the data directory (keys.Layout) and the verifier cache (verifier.CacheLayout): spelt only there.
LAYOUT_NAMES = frozenset({"hub-root.jwk", "trust-list.jwt", "hub.json", "key-events.jsonl", "tongban.sqlite3",
                          "idp-secret", "issuer-secret", "counter-cache", "root.jwk", "sync.json", "attempt.json",
                          "admin-client.json", "replay.sqlite3", "DEV-PLAINTEXT-KEYS"})
LAYOUT_OWNERS = ("keys/layout.py", "verifier/cache_layout.py", "keys/at_rest.py")
# Still to switch to keys.Layout (files another refactor was moving at the time); shrink, never grow.
LAYOUT_ALLOWLIST_TO_BE_REMOVED = {
    "issuer/pii.py": {"issuer-secret"},
    "service/commands.py": {"counter-cache"},  # `tongban demo`'s own tree (demo/data, demo/wallet, demo/counter-cache)
}


def test_data_directory_names_are_spelt_only_by_the_layouts():
    offences = []
    for path in _files():
        rel = _rel(path)
        if rel in LAYOUT_OWNERS:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=rel)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and node.value in LAYOUT_NAMES \
                    and node.value not in LAYOUT_ALLOWLIST_TO_BE_REMOVED.get(rel, set()):
                offences.append(f"{rel}:{node.lineno} spells {node.value!r}")
    assert not offences, _report("use keys.Layout / verifier.CacheLayout for data-directory paths", offences)


# issuer/health/ sits on top of the rest of issuer (it issues through issuer.service): the issuer's core does not
# import it. The exceptions, each for one reason; keep the list short.
HEALTH_PACKAGE = "issuer.health"
HEALTH_IMPORTERS_IN_ISSUER = {
    "issuer/cli.py": "attaches the health commands and builds the desk",
    "issuer/migrate.py": "migrates every issuer table, the health tables too",
    "issuer/pii_migrate.py": "seals every issuer table's personal data, the health tables' too",
    "issuer/vci/configurations.py": "the credential endpoint leaves the health-code type to the health endpoint (HEALTH_CODE)",
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
