"""Checkpoints: the audit log's head (and its first entry, the genesis), signed with the audit
key and written outside the database, to a file or folder the clinic chooses.

``verify`` compares the log with the latest checkpoint: a log cut short, rewound to an earlier
head, rewritten or wiped no longer holds the entry the checkpoint names. A checkpoint is written
by ``dosemap audit checkpoint``, by every backup, and after a restore (which legitimately moves
the head back: the checkpoint written then records it as the new head).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dosemap.persistence.audit import canonical_json
from dosemap.persistence.audit_key import AuditKeys

KIND = "dosemap-audit-checkpoint"


@dataclass(frozen=True)
class Checkpoint:
    """Sequence number and hash of the head, the genesis entry's hash, when, and its MAC."""

    seq: int
    head_hash: str
    genesis_hash: str | None
    at: str
    key_id: str
    note: str = ""
    mac: str = ""

    def body(self) -> dict[str, Any]:
        """What the MAC covers."""
        data = asdict(self)
        data.pop("mac")
        data["kind"] = KIND
        return data

    @classmethod
    def make(
        cls, keys: AuditKeys, seq: int, head_hash: str, genesis_hash: str | None, note: str = ""
    ) -> Checkpoint:
        """A new checkpoint signed with the current key."""
        cp = cls(seq, head_hash, genesis_hash, datetime.now(UTC).isoformat(), keys.current, note)
        return cls(**{**asdict(cp), "mac": keys.mac(canonical_json(cp.body()).encode())})

    def valid(self, keys: AuditKeys) -> bool:
        """True when the MAC verifies under the key it names."""
        if self.key_id not in keys.by_id:
            return False
        return keys.mac(canonical_json(self.body()).encode(), self.key_id) == self.mac


def checkpoint_file(location: Path, cp: Checkpoint) -> Path:
    """Where ``cp`` goes: ``location`` itself when it names a ``.json`` file, else a new file in
    the folder ``location``."""
    if location.suffix == ".json" and not location.is_dir():
        return location
    stamp = cp.at.replace(":", "").replace("-", "").replace("+0000", "Z")[:22]
    return location / f"checkpoint-{stamp}-{cp.seq:010d}.json"


def write(location: Path, cp: Checkpoint) -> Path:
    """Write ``cp`` (atomically: a reader never sees half a file)."""
    target = checkpoint_file(location, cp)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(asdict(cp), indent=2) + "\n")
    tmp.replace(target)
    return target


@dataclass(frozen=True)
class Found:
    """The latest valid checkpoint at a location, and files there that did not verify."""

    latest: Checkpoint | None
    invalid: tuple[str, ...]


def latest(location: Path, keys: AuditKeys) -> Found:
    """The most recently written checkpoint whose MAC verifies (files that do not are named)."""
    if location.is_dir():
        files = sorted(location.glob("checkpoint-*.json"))
    elif location.is_file():
        files = [location]
    else:
        files = []
    best: Checkpoint | None = None
    invalid = []
    for path in files:
        try:
            cp = Checkpoint(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            invalid.append(f"{path.name} is not a checkpoint")
            continue
        if not cp.valid(keys):
            invalid.append(f"{path.name}: signature does not verify with the audit key")
            continue
        if best is None or cp.at >= best.at:
            best = cp
    return Found(best, tuple(invalid))
