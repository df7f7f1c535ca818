"""API keys: created once and shown once, stored as SHA-256, checked against scopes."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update

from service.db import ApiKey, Database, utcnow
from service.digests import sha256_text
from service.problems import Forbidden, InvalidRequest, NotFound, Unauthorized

SCOPES = ("generate", "verify", "audit", "admin")
KEY_PREFIX = "of_"
# last_used_at is a hint for operators, not an audit trail: refresh it at most this often
_LAST_USED_GRANULARITY = timedelta(minutes=1)


@dataclass(frozen=True)
class Caller:
    key_id: str
    scopes: frozenset[str]
    name: str = ""

    def has(self, scope: str) -> bool:
        return scope in self.scopes or "admin" in self.scopes

    def require(self, scope: str) -> None:
        if not self.has(scope):
            raise Forbidden(f"this API key has no '{scope}' scope", required_scope=scope)


@dataclass(frozen=True)
class CreatedKey:
    key_id: str
    secret: str  # shown once; only its hash is stored
    scopes: tuple[str, ...]
    name: str


def _digest(secret: str) -> str:
    return sha256_text(secret)


MAX_NAME_LENGTH = 200  # the api_keys.name column


def validate_scopes(scopes: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise InvalidRequest(f"unknown scope(s) {', '.join(unknown)}; choose from {', '.join(SCOPES)}", field="scopes")
    if not scopes:
        raise InvalidRequest(f"at least one scope is required ({', '.join(SCOPES)})", field="scopes")
    return tuple(sorted(set(scopes)))


def create_key(db: Database, scopes: list[str] | tuple[str, ...], name: str = "") -> CreatedKey:
    scopes = validate_scopes(scopes)
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidRequest(f"a key name is at most {MAX_NAME_LENGTH} characters; got {len(name)}", field="name")
    key_id = "key_" + secrets.token_hex(6)
    # the key id is embedded so a lookup needs no scan; the random part carries 256 bits
    secret = f"{KEY_PREFIX}{key_id[4:]}_{secrets.token_urlsafe(32)}"
    with db.session() as session:
        session.add(ApiKey(id=key_id, name=name, secret_sha256=_digest(secret), scopes=" ".join(scopes)))
    return CreatedKey(key_id=key_id, secret=secret, scopes=scopes, name=name)


def authenticate(db: Database, secret: str | None) -> Caller:
    if not secret:
        raise Unauthorized("send an API key as 'Authorization: Bearer <key>' or 'X-API-Key: <key>'")
    with db.session() as session:
        key = session.scalar(select(ApiKey).where(ApiKey.secret_sha256 == _digest(secret)))
        if key is None or key.revoked_at is not None:
            raise Unauthorized("the API key is unknown or revoked")
        now = utcnow()
        if key.last_used_at is None or now - key.last_used_at > _LAST_USED_GRANULARITY:
            session.execute(update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now))
        return Caller(key_id=key.id, scopes=key.scope_set, name=key.name)


def revoke_key(db: Database, key_id: str) -> None:
    with db.session() as session:
        key = session.get(ApiKey, key_id)
        if key is None:
            raise NotFound(f"no API key {key_id}")
        key.revoked_at = key.revoked_at or utcnow()


def list_keys(db: Database) -> list[ApiKey]:
    with db.session() as session:
        return list(session.scalars(select(ApiKey).order_by(ApiKey.created_at)))


def has_any_key(db: Database) -> bool:
    with db.session() as session:
        return session.scalar(select(ApiKey.id).limit(1)) is not None
