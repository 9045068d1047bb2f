"""The wallet's scripts: ES modules, one per section of the page (issue 12), imported from wallet.js.

Every module the page loads is in the service worker's asset list (else the wallet would not start offline),
and the imports form no loop (ARCHITECTURE.md principle 13): ui.js, db.js, words.js at the bottom, wallet.js on top.
"""

from __future__ import annotations

import re
from pathlib import Path

STATIC = Path(__file__).resolve().parents[2] / "wallet" / "static"
IMPORT = re.compile(r"""^import\s[^"']*["']\./([^"']+)["'];""", re.MULTILINE)


def imports(name: str) -> list[str]:
    return IMPORT.findall((STATIC / name).read_text(encoding="utf-8"))


def graph() -> dict[str, list[str]]:
    seen: dict[str, list[str]] = {}
    todo = ["wallet.js"]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen[name] = imports(name)
            todo.extend(i for i in seen[name] if i.endswith(".js"))
    return seen


def test_the_service_worker_caches_every_module_the_page_loads():
    sw = (STATIC / "sw.js").read_text(encoding="utf-8")
    modules = set(re.findall(r'"([\w-]+)"', re.search(r"const MODULES = \[(.*?)\];", sw, re.DOTALL).group(1)))
    assets = set(re.findall(r'"(/wallet/[^"]*)"', re.search(r"const ASSETS = \[(.*?)\];", sw, re.DOTALL).group(1)))
    loaded = {name for deps in graph().values() for name in deps} | {"wallet.js"}
    for name in loaded:
        assert name.removesuffix(".js") in modules or f"/wallet/static/{name}" in assets, name
    assert "/wallet/words.json" in assets and "/wallet/static/vendor/jsqr-1.4.0.js" in assets  # fetched, not imported


def test_the_modules_import_in_one_direction():
    deps = graph()
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, " → ".join((*path, name))
        if name in done or not name.endswith(".js"):
            return
        for dep in deps.get(name, []):
            visit(dep, (*path, name))
        done.add(name)

    visit("wallet.js", ())
    for leaf in ("ui.js", "db.js", "words.js"):
        assert all(d.endswith("tb-format.js") for d in deps[leaf]), leaf


def test_each_module_is_small():
    for script in STATIC.glob("*.js"):
        assert len(script.read_text(encoding="utf-8").splitlines()) <= 250, script.name
