"""Serve the Xero or TikTok sandbox over HTTP on 127.0.0.1, its state kept in a file (DESIGN.md 7)."""

import signal
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from connectors.sandbox_server import KINDS, SandboxServer, state_load


class Command(BaseCommand):
    help = (
        "Serve a sandbox (xero or tiktok) on 127.0.0.1:PORT. The state is read from --state when the "
        "file exists (the demo writes it) and written back after every request."
    )

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=sorted(KINDS))
        parser.add_argument("--port", type=int, required=True)
        parser.add_argument("--state", type=Path, help="state file (default var/sandboxes/KIND.pickle)")

    def handle(self, *args, kind: str, port: int, state: Path | None, **options):
        state = state or Path(settings.BASE_DIR) / "var" / "sandboxes" / f"{kind}.pickle"
        sandbox = state_load(kind, state) if state.exists() else KINDS[kind].build()
        server = SandboxServer(kind, sandbox, state_file=state, port=port)
        # SIGTERM (the demo stopping it) ends the loop like Ctrl-C does, and the state is saved.
        signal.signal(signal.SIGTERM, _interrupt)
        self.stdout.write(f"{kind} sandbox on {server.url} (state {state})", ending="\n")
        self.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.save()
            server.close()


def _interrupt(signum, frame):
    raise KeyboardInterrupt
