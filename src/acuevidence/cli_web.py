"""``acuevidence serve``: the web app (decision aid, evidence explorer, JSON API) with uvicorn.

The lead wires :func:`add_serve_parser` and :func:`run_serve` into :mod:`acuevidence.cli`; the
module also runs on its own (``python -m acuevidence.cli_web --port 8000``), which the benchmark
uses.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Sequence

from .errors import EvidenceError, InputError

__all__ = ["add_serve_parser", "build_serve_parser", "main", "run_serve"]


def _options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1",
                   help="interface to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--database", metavar="URL",
                   help="SQLite file or postgresql://... (default: $ACUEVIDENCE_DATABASE or "
                        "~/.local/share/acuevidence/evidence.sqlite, built from the bundled "
                        "CSV files on first use)")
    p.add_argument("--editors", metavar="FILE",
                   help="editors file (JSON or TOML: name -> argon2 password hash, or a table "
                        "with password_hash and token_hashes); without it the site is "
                        "read-only")
    p.add_argument("--secret-key-file", metavar="FILE",
                   help="file holding the key that signs session cookies (default: "
                        "$ACUEVIDENCE_SECRET_KEY, else a random key per start)")
    p.add_argument("--secure-cookies", action="store_true",
                   help="mark session cookies Secure and send HSTS (behind HTTPS)")
    p.add_argument("--no-warm", action="store_true",
                   help="do not precompute the home page's report at startup")
    p.add_argument("--access-log", action="store_true", help="log every request")
    p.add_argument("--log-level", default="info",
                   choices=["critical", "error", "warning", "info", "debug"])
    p.add_argument("--hash-password", action="store_true",
                   help="print an argon2 hash of a password (read from stdin, or asked for) "
                        "for the editors file, and exit")
    p.add_argument("--new-token", action="store_true",
                   help="print a new API token and the hash to store in the editors file, "
                        "and exit")


def add_serve_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``serve`` to the ``acuevidence`` command."""
    p = subparsers.add_parser(
        "serve", help="start the web app (decision aid, evidence explorer, JSON API)",
        description="Serve the web app with uvicorn on the evidence registry.")
    _options(p)
    return p


def build_serve_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="acuevidence serve",
                                description="Serve the web app with uvicorn.")
    _options(p)
    return p


def _read_password() -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Again: "):
        raise InputError("The passwords differ.", column="--hash-password")
    return first


def run_serve(args: argparse.Namespace) -> int:
    """Run the server (blocks until stopped); or print a password hash / a new token."""
    if args.hash_password:
        from .web.auth import hash_password

        print(hash_password(_read_password()))
        return 0
    if args.new_token:
        from .web.auth import new_token

        token, digest = new_token()
        print(f"token (give it to the editor; it is not stored): {token}")
        print(f'editors file: token_hashes = ["{digest}"]')
        return 0
    if not 0 < args.port < 65536:
        raise InputError(f"--port must be 1-65535; got {args.port}.", column="--port")
    try:
        import uvicorn
    except ImportError:
        raise InputError("acuevidence serve needs the 'web' extra: pip install "
                         "'acuevidence[web]'.", column="serve") from None
    from .web import create_app

    secret = None
    if args.secret_key_file:
        from pathlib import Path

        secret = Path(args.secret_key_file).read_text(encoding="utf-8").strip()
        if len(secret) < 16:
            raise InputError("The secret key file must hold at least 16 characters.",
                             column="--secret-key-file")
    app = create_app(args.database, secret_key=secret, editors=args.editors,
                     secure_cookies=args.secure_cookies, warm=not args.no_warm,
                     freeze_gc=True)
    print(f"acuevidence: serving on http://{args.host}:{args.port}/ (Ctrl+C stops)",
          file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level,
                access_log=args.access_log, server_header=False)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_serve_parser().parse_args(argv)
    try:
        return run_serve(args)
    except EvidenceError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
