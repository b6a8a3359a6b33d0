#!/usr/bin/env python3
"""Loads the demo city (seeds/demo-city.json) into the registry through its HTTP API.

    REGISTRY_URL=http://127.0.0.1:8081 AUTH_JWT_SECRET=... python3 scripts/load_seeds.py [FILE]

Run it through scripts/load-seeds.sh. Standard library only (urllib, hmac, json).

It mints a short-lived city-admin token signed with AUTH_JWT_SECRET (HS256), waits for
GET /health/ready, then POSTs places, households, residents, organisations and roles in that order,
each with `Idempotency-Key: seed-<kind>-<id or code>`. Loading again is safe:

  201                          created
  201 + Idempotent-Replayed    already there (this loader sent the same request before)
  409                          already there (the id or code exists, e.g. registered another way)
  anything else                failed: the problem+json body is printed

except a 409 that says the national ID belongs to another resident, which is a failure. Exit status:
0 when nothing failed, 1 when something failed, 2 when the loader could not start (no secret, no
file, the registry never became ready, the token was refused).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import pathlib
import sys
import time
import urllib.error
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_FILE = ROOT / "seeds" / "demo-city.json"
TIMEOUT = 10  # seconds, every request
READY_WAIT = 30  # seconds for GET /health/ready
PLACE_LEVELS = ["district", "street", "community", "grid", "building"]

# kind: (route, fields sent, the field that names the record in keys and messages)
KINDS = {
    "place": ("/api/v1/places", ["code", "level", "name", "parentCode", "communityType", "workstation", "boundary", "address"], "code"),
    "household": ("/api/v1/households", ["id", "buildingCode", "address"], "id"),
    "resident": ("/api/v1/residents", ["id", "householdId", "name", "nationalId", "phone", "residency", "floating", "groups"], "id"),
    "organisation": ("/api/v1/organisations",
                     ["id", "name", "kind", "legalPerson", "registrationAuthority", "registrationNumber", "servesPlace"], "id"),
    "role": ("/api/v1/roles", ["id", "residentId", "role", "placeCode", "details", "startedOn"], "id"),
}
SECTIONS = {"place": "places", "household": "households", "resident": "residents", "organisation": "organisations", "role": "roles"}


class Fatal(Exception):
    """The loader cannot go on (exit status 2)."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def mint_token(secret: str, lifetime: int = 3600) -> str:
    """An HS256 JWT for a city-wide administrator named 'seed-loader'."""
    header = {"alg": "HS256", "typ": "JWT"}
    claims = {"sub": "seed-loader", "role": "city-admin", "scope": "city", "name": "Seed loader", "exp": int(time.time()) + lifetime}
    signing_input = b64url(json.dumps(header, separators=(",", ":")).encode()) + "." + \
        b64url(json.dumps(claims, separators=(",", ":")).encode())
    signature = hmac.new(secret.encode("utf-8"), signing_input.encode("ascii"), hashlib.sha256).digest()
    return signing_input + "." + b64url(signature)


def request(method: str, url: str, body: dict | None = None, headers: dict | None = None):
    """(status, headers, body text); a connection problem raises OSError."""
    data = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        req.add_header("Content-Type", "application/json")
    req.add_header("Accept", "application/json, application/problem+json")
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as response:
            return response.status, response.headers, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode("utf-8", "replace")


def wait_ready(base: str) -> None:
    deadline = time.monotonic() + READY_WAIT
    last = "no answer"
    while True:
        try:
            status, _, text = request("GET", base + "/health/ready")
            if status == 200:
                return
            last = f"HTTP {status}: {text.strip()[:300]}"
        except OSError as error:
            last = str(getattr(error, "reason", error))
        if time.monotonic() >= deadline:
            raise Fatal(f"{base}/health/ready did not answer 200 within {READY_WAIT} s (last: {last})")
        time.sleep(0.5)


def describe(kind: str, record: dict) -> str:
    key = record.get(KINDS[kind][2], "?")
    name = record.get("name") or record.get("role") or record.get("address") or ""
    return f"{kind} {key}" + (f" ({name})" if name else "")


def problem_text(text: str) -> str:
    try:
        return json.dumps(json.loads(text), ensure_ascii=False, indent=2)
    except ValueError:
        return text.strip() or "(empty body)"


def is_duplicate_national_id(text: str) -> bool:
    try:
        body = json.loads(text)
    except ValueError:
        return False
    return any(isinstance(e, dict) and e.get("field") == "nationalId" for e in body.get("errors") or [])


def load(base: str, token: str, document: dict) -> bool:
    """POSTs every record; prints failures as they happen and a summary per kind. True when nothing failed."""
    totals = {}
    connection_failures = 0
    for kind, (route, fields, key_field) in KINDS.items():
        records = list(document.get(SECTIONS[kind]) or [])
        if kind == "place":  # parents first, whatever the file's order
            records.sort(key=lambda p: PLACE_LEVELS.index(p["level"]) if p.get("level") in PLACE_LEVELS else len(PLACE_LEVELS))
        created = there = failed = 0
        started = time.monotonic()
        for record in records:
            body = {field: record[field] for field in fields if record.get(field) is not None}
            headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": f"seed-{kind}-{record.get(key_field)}"}
            try:
                status, response_headers, text = request("POST", base + route, body, headers)
                connection_failures = 0
            except OSError as error:
                failed += 1
                connection_failures += 1
                print(f"FAILED {describe(kind, record)}: no answer from {base}: {getattr(error, 'reason', error)}")
                if connection_failures >= 5:
                    raise Fatal(f"{base} stopped answering; gave up after 5 requests in a row without an answer")
                continue
            if status == 401:
                raise Fatal(f"the registry refused the token (HTTP 401); is AUTH_JWT_SECRET the registry's secret?\n{problem_text(text)}")
            if status == 201 and (response_headers.get("Idempotent-Replayed") or "").lower() != "true":
                created += 1
            elif status == 201 or (status == 409 and not is_duplicate_national_id(text)):
                there += 1
            else:
                failed += 1
                print(f"FAILED {describe(kind, record)}: POST {route} answered HTTP {status}")
                print("  " + problem_text(text).replace("\n", "\n  "))
        totals[kind] = (created, there, failed)
        print(f"{SECTIONS[kind]:<14} {len(records):>4} records: {created:>4} created, {there:>4} already there, "
              f"{failed:>4} failed  ({time.monotonic() - started:.1f} s)", flush=True)
    return all(f == 0 for _, _, f in totals.values())


def main(argv: list[str]) -> int:
    started = time.monotonic()
    try:
        path = pathlib.Path(argv[1]) if len(argv) > 1 else DEFAULT_FILE
        base = os.environ.get("REGISTRY_URL", "http://127.0.0.1:8081").rstrip("/")
        secret = os.environ.get("AUTH_JWT_SECRET", "")
        if not secret:
            raise Fatal("AUTH_JWT_SECRET is not set: export the registry's token secret "
                        "(for the local stack: source .local/secrets.env, which scripts/up.sh writes)")
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise Fatal(f"cannot read the seeds from {path}: {error}")
        print(f"loading {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} into the registry at {base}", flush=True)
        wait_ready(base)
        ok = load(base, mint_token(secret), document)
    except Fatal as error:
        print(f"load-seeds: {error}", file=sys.stderr)
        print(f"load-seeds: stopped after {time.monotonic() - started:.1f} s", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    if ok:
        print(f"seeds loaded in {time.monotonic() - started:.1f} s")
        return 0
    print(f"seeds loaded with failures in {time.monotonic() - started:.1f} s (see FAILED lines above)", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
