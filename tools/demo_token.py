"""`make token ROLE=publisher|reviewer [WHO=id]`: a bearer token from the local demo issuer.

The demo issuer's key is made by `make run` at start-up (under .run/<port>/), so the API must be
running on the same PORT. Tokens last one hour.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))


def key_file_for(port: int) -> Path:
    return PROJECT_DIR / ".run" / str(port) / "demo-issuer.pem"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--role", choices=("publisher", "reviewer"), default=os.environ.get("ROLE", "publisher"))
    parser.add_argument("--who", default=os.environ.get("WHO") or None, help="an id from catalog/demo/identities.json")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    args = parser.parse_args()

    from chalicelib.identity.demo import mint_token

    people = json.loads((PROJECT_DIR / "catalog" / "demo" / "identities.json").read_text(encoding="utf-8"))
    candidates = people[args.role]
    person = next((p for p in candidates if p["id"] == args.who), None) if args.who else candidates[0]
    if person is None:
        print(f"No demo {args.role} '{args.who}'; one of: {', '.join(p['id'] for p in candidates)}", file=sys.stderr)
        return 2
    key_file = key_file_for(args.port)
    if not key_file.exists():
        print(f"No demo issuer key for port {args.port}: start `make run` first (PORT={args.port}).", file=sys.stderr)
        return 2
    base_url = f"http://127.0.0.1:{args.port}"
    print(mint_token(key_file, base_url, base_url, {**person, "role": args.role}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
