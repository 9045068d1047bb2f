"""Population-registry adapters: does this name belong to this resident ID number?

``PopulationRegistry`` is the port. ``TableRegistry`` (embedded default) checks a table imported with
``tongban registry import FILE.csv``; it stores only keyed hashes of each ID number and name. ``HttpRegistry``
is the documented interface for a national verification service:

    POST {url}   Authorization: Bearer {token}   Content-Type: application/json
    {"name": "张三", "id_number": "110101199003071233"}
    -> 200 {"match": true}     (or {"match": false})

Any other answer (status, body, timeout) is ``RegistryUnavailable``: registration fails closed.
"""

from __future__ import annotations

import csv
import hmac
import io
import json
import urllib.request
from collections.abc import Callable
from typing import Protocol

from sqlalchemy import Engine, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from idp import models
from idp.errors import InvalidInput, RegistryUnavailable
from idp.identity import normalise_id_number, normalise_name
from idp.secrets import Secrets


def name_hash(secrets_: Secrets, name: str) -> str:
    """The keyed hash the registry keeps of a (normalised) name: enough to answer "does it match", nothing more."""
    return secrets_.lookup_hash("name:" + name)


class PopulationRegistry(Protocol):
    def matches(self, name: str, id_number: str) -> bool: ...


class TableRegistry:
    def __init__(self, engine: Engine, secrets: Secrets):
        self.engine = engine
        self.secrets = secrets

    def matches(self, name: str, id_number: str) -> bool:
        table = models.registry_people
        with self.engine.connect() as conn:
            row = conn.execute(select(table.c.name, table.c.name_hash)
                               .where(table.c.id_hash == self.secrets.lookup_hash(id_number))).first()
        if row is None:
            return False
        if row.name_hash is not None:
            return hmac.compare_digest(row.name_hash, name_hash(self.secrets, name))
        return row.name == name  # a row imported before names were hashed, until idp.pii_seal reaches it

    def add(self, people: list[tuple[str, str]]) -> int:
        """Insert or update (name, id_number) pairs; returns how many rows were written. Only keyed hashes are kept."""
        table = models.registry_people
        rows = [{"id_hash": self.secrets.lookup_hash(i), "name_hash": name_hash(self.secrets, n)} for n, i in people]
        if not rows:
            return 0
        insert = (postgresql if self.engine.dialect.name == "postgresql" else sqlite).insert
        with self.engine.begin() as conn:
            for row in rows:
                stmt = insert(table).values(**row)
                conn.execute(stmt.on_conflict_do_update(index_elements=["id_hash"],
                                                        set_={"name_hash": row["name_hash"], "name": None}))
        return len(rows)

    def remove(self, id_numbers: list[str]) -> int:
        """Delete people by ID number; returns how many rows went."""
        hashes = [self.secrets.lookup_hash(i) for i in id_numbers]
        with self.engine.begin() as conn:
            table = models.registry_people
            return conn.execute(delete(table).where(table.c.id_hash.in_(hashes))).rowcount


def parse_csv(text: str) -> list[tuple[str, str]]:
    """Read ``name,id_number`` rows (header required); every malformed row is reported by line."""
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        if reader.fieldnames is None or {"name", "id_number"} - set(reader.fieldnames):
            raise InvalidInput("file", "CSV needs a header row with columns name,id_number")
        people, errors = [], []
        for line, row in enumerate(reader, start=2):
            try:
                people.append((normalise_name(row.get("name")), normalise_id_number(row.get("id_number"))))
            except InvalidInput as exc:
                errors.append(f"line {line}: {exc}")
    except csv.Error as exc:
        raise InvalidInput("file", f"not a readable CSV file: {exc}") from exc
    if errors:
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        raise InvalidInput("file", "; ".join(errors[:5]) + more)
    return people


def _urllib_post(request: urllib.request.Request, timeout: float) -> bytes:
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - https enforced
        return response.read()


class HttpRegistry:
    def __init__(self, url: str, token: str, timeout: float = 5.0,
                 transport: Callable[[urllib.request.Request, float], bytes] = _urllib_post):
        if not url.startswith("https://"):
            raise RegistryUnavailable("the registry service must be reached over https")
        self.url, self.token, self.timeout, self.transport = url, token, timeout, transport

    def matches(self, name: str, id_number: str) -> bool:
        body = json.dumps({"name": name, "id_number": id_number}).encode()
        request = urllib.request.Request(  # noqa: S310 - https enforced above
            self.url, data=body, method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"},
        )
        try:
            answer = json.loads(self.transport(request, self.timeout))
        except (OSError, ValueError) as exc:
            raise RegistryUnavailable("the population registry did not answer; try again later") from exc
        if not isinstance(answer, dict) or not isinstance(answer.get("match"), bool):
            raise RegistryUnavailable("the population registry gave an unexpected answer")
        return answer["match"]


DEMO_PEOPLE = [
    ("张三", "110101199003071233"),
    ("李四", "440304198512124569"),
    ("王芳", "310104199206157893"),
    ("赵敏", "110105198505202214"),
]
