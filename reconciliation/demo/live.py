"""`make demo`: the whole system running at once (README "Demo").

The demo command writes the sandboxes' state, then starts four processes, each in its own process
group so that stopping one stops everything it forked: the two sandbox servers, a django-q2 cluster
and the web server. Every process reaches the sandboxes through the URL settings, so an approval in
the admin queues a send that a worker posts to the Xero sandbox, as in production. On Linux each
child also gets PR_SET_PDEATHSIG, so it dies even if this process is killed outright.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.models import Schedule
from django_q.tasks import async_task, result

from reconciliation.models import XeroPosting

STOP_GRACE = 10.0  # seconds a process gets to stop after SIGTERM before its group is killed


@dataclass(frozen=True)
class Ports:
    web: int
    xero: int
    tiktok: int

    def environment(self) -> dict[str, str]:
        """What points every process at the sandbox servers instead of the real services."""
        xero, tiktok = f"http://127.0.0.1:{self.xero}", f"http://127.0.0.1:{self.tiktok}"
        return {
            "XERO_API_URL": xero,
            "XERO_IDENTITY_URL": xero,
            "XERO_LOGIN_URL": xero,  # the consent page a browser is sent to (Connections)
            "TIKTOK_API_URL": tiktok,
            "TIKTOK_AUTH_URL": tiktok,
            "TIKTOK_SERVICES_URL": tiktok,
            "Q_SYNC": "0",
        }

    def tiktok_callback(self) -> str:
        """The redirect URL the demo's TikTok app has "registered" (the sandbox sends sellers there)."""
        return f"http://127.0.0.1:{self.web}/admin/connections/tiktok/callback/"


def state_dir() -> Path:
    return Path(settings.BASE_DIR) / "var" / "sandboxes"


@dataclass
class Processes:
    """Child processes started together and always stopped together."""

    env: dict[str, str]
    log_dir: Path
    children: dict[str, subprocess.Popen] = field(default_factory=dict)

    def start(self, name: str, *args: str) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = (self.log_dir / f"{name}.log").open("ab")
        self.children[name] = subprocess.Popen(
            [sys.executable, "manage.py", *args],
            cwd=settings.BASE_DIR,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: killpg reaches the workers it forks
            preexec_fn=_die_with_parent,
        )
        log.close()

    def dead(self) -> list[str]:
        return [name for name, child in self.children.items() if child.poll() is not None]

    def stop_one(self, name: str) -> None:
        """Stop one child as `stop` stops them all (a sandbox server saves its state first)."""
        child = self.children[name]
        _signal(child, signal.SIGTERM, group=False)
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=STOP_GRACE)
        _signal(child, signal.SIGKILL, group=True)
        child.wait(timeout=5)

    def stop(self) -> None:
        """SIGTERM to each (qcluster stops its workers, the servers save their state), then SIGKILL
        to whatever is left in each group, so nothing is orphaned."""
        for child in reversed(self.children.values()):
            _signal(child, signal.SIGTERM, group=False)
        deadline = time.monotonic() + STOP_GRACE
        for child in self.children.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=max(deadline - time.monotonic(), 0.1))
        for child in self.children.values():
            _signal(child, signal.SIGKILL, group=True)
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=5)


def _signal(child: subprocess.Popen, signum: int, *, group: bool) -> None:
    try:
        if group:
            os.killpg(child.pid, signum)  # the group id is the child's pid (start_new_session)
        elif child.poll() is None:
            os.kill(child.pid, signum)
    except ProcessLookupError:
        pass


def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def wait_for_ports(processes: Processes, ports: dict[str, int], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    waiting = dict(ports)
    while waiting:
        if dead := processes.dead():
            raise RuntimeError(f"{', '.join(dead)} stopped at start-up; see {processes.log_dir}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{', '.join(waiting)} not listening after {timeout:.0f} s")
        waiting = {name: port for name, port in waiting.items() if port_free(port)}
        time.sleep(0.1)


def schedules_defer() -> None:
    """The cluster would start each schedule at once; the demo queues its own run instead, so the
    hourly sync and the 5-minute sweep first fire one period from now."""
    now = timezone.now()
    for schedule in Schedule.objects.all():
        schedule.next_run = now + timedelta(minutes=schedule.minutes or 60)
        schedule.save(update_fields=["next_run"])


def scenario_run(shop_id: int, *, timeout: float = 120.0) -> None:
    """The sync through the cluster, then sweeps until every send has an outcome. Retries whose
    back-off has not run out are made due at once: the demo does not wait for them. A sweep also
    sends a payment planned after its invoice had posted: nothing queues it but the sweep (every
    5 minutes in production), so the demo sweeps as soon as the workers are idle."""
    deadline = time.monotonic() + timeout
    task = async_task("reconciliation.tasks.sync_shop", shop_id)
    if result(task, wait=int(timeout * 1000)) is None:
        raise RuntimeError("the sync task did not finish; see var/demo-logs/qcluster.log")
    while time.monotonic() < deadline:
        _wait_for_workers(deadline)
        XeroPosting.objects.filter(
            shop_id=shop_id, state__in=[XeroPosting.State.RETRY, XeroPosting.State.UNKNOWN]
        ).update(next_attempt_at=timezone.now())
        sweep = async_task("reconciliation.tasks.send_due_postings")
        if not result(sweep, wait=int(max(deadline - time.monotonic(), 1) * 1000)):
            _wait_for_workers(deadline)
            return
    raise RuntimeError("sends still pending after the demo's time limit")


def _wait_for_workers(deadline: float) -> None:
    """Until the cluster has no task queued or running and no posting is being sent."""
    broker = get_broker()
    while time.monotonic() < deadline and (
        broker.queue_size() + (broker.lock_size() or 0) > 0
        or XeroPosting.objects.filter(state=XeroPosting.State.SENDING).exists()
    ):
        time.sleep(0.2)
