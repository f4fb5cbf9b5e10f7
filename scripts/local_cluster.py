#!/usr/bin/env python
"""A real multi-node Ray cluster on this machine, for trying cluster runs.

    python scripts/local_cluster.py up      # head + one worker node; Ctrl-C stops both

Each node is a ``ray start --block`` process in its own process group, with
its own ports and temp dir, so stopping it touches no other Ray instance on
the machine (``ray stop`` would stop them all). All traffic stays on the
loopback range: the head is 127.0.0.2, the worker nodes 127.0.0.3, ...
(Ray rewrites 127.0.0.1 into the machine's network address, but no other
loopback address). The worker node carries the
custom resource ``worker_node`` so env runners can be placed on it with
``custom_resources_per_env_runner: {worker_node: 1}``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ray.job_submission import JobSubmissionClient

WORKER_RESOURCE = "worker_node"
HEAD_IP = "127.0.0.2"
# Ray's token authentication, explicitly on for every node: the head creates
# ~/.ray/auth_token if missing, the other nodes and clients read it.
TOKEN_AUTH = {"RAY_AUTH_MODE": "token"}


def auth_headers() -> dict[str, str]:
    """The HTTP header carrying the cluster's auth token, if there is one.

    ``ray start`` turns token authentication on and keeps the token in
    RAY_AUTH_TOKEN, the file RAY_AUTH_TOKEN_PATH or ~/.ray/auth_token; a job
    client that imported Ray before RAY_AUTH_MODE=token was set would not send it.
    """
    token = os.environ.get("RAY_AUTH_TOKEN")
    path = Path(os.environ.get("RAY_AUTH_TOKEN_PATH", Path.home() / ".ray" / "auth_token"))
    if not token and path.is_file():
        token = path.read_text().strip()
    return {"Authorization": f"Bearer {token}"} if token else {}


_HANDED_OUT: set[int] = set()


def free_ports(count: int) -> list[int]:
    """``count`` free ports, none handed out before by this process.

    The OS may offer a just-closed port again, and ``ray start`` refuses a
    port given to two of its components (seen once as a head node that did
    not come up), so every port is new.
    """
    sockets, ports = [], []
    while len(ports) < count:
        s = socket.socket()
        s.bind((HEAD_IP, 0))
        sockets.append(s)
        port = s.getsockname()[1]
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            ports.append(port)
    for s in sockets:
        s.close()
    return ports


def _node_ports() -> list[str]:
    agent, agent_grpc, runtime_env, metrics, node_manager, object_manager = free_ports(6)
    return [
        "--dashboard-agent-listen-port", str(agent),
        "--dashboard-agent-grpc-port", str(agent_grpc),
        "--runtime-env-agent-port", str(runtime_env),
        "--metrics-export-port", str(metrics),
        "--node-manager-port", str(node_manager),
        "--object-manager-port", str(object_manager),
    ]


class LocalCluster:
    """Head node plus ``worker_nodes`` worker nodes, started by ``ray start``."""

    def __init__(self, *, cpus_per_node: int = 2, worker_nodes: int = 1):
        self.cpus_per_node = cpus_per_node
        self.worker_nodes = worker_nodes
        self.gcs_port, self.dashboard_port, self.client_port = free_ports(3)
        # Short: Ray's socket paths must stay under the OS limit.
        self.temp_dir = tempfile.mkdtemp(prefix="rs_", dir="/tmp")
        self.processes: list[subprocess.Popen] = []
        self.ray = str(Path(sys.executable).with_name("ray"))

    @property
    def address(self) -> str:
        return f"{HEAD_IP}:{self.gcs_port}"

    @property
    def dashboard_url(self) -> str:
        return f"http://{HEAD_IP}:{self.dashboard_port}"

    def _start(self, ip: str, args: list[str], env: dict[str, str]) -> None:
        log = open(Path(self.temp_dir) / f"node_{len(self.processes)}.log", "w")
        self.processes.append(subprocess.Popen(
            [self.ray, "start", "--block", "--disable-usage-stats", "--node-ip-address", ip,
             "--num-cpus", str(self.cpus_per_node), *_node_ports(), *args],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, **TOKEN_AUTH, "RAY_USAGE_STATS_ENABLED": "0",
                 # Jobs' "python" is then the interpreter (venv) that runs the cluster.
                 "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
                 **env},
        ))

    def start(self, timeout: float = 120.0) -> LocalCluster:
        self._start(HEAD_IP, ["--head", "--port", str(self.gcs_port), "--temp-dir", self.temp_dir,
                              "--include-dashboard", "true", "--dashboard-host", HEAD_IP,
                              "--dashboard-port", str(self.dashboard_port),
                              "--ray-client-server-port", str(self.client_port)], {})
        self._wait_for_job_server(timeout)
        for k in range(self.worker_nodes):
            self._start(f"127.0.0.{3 + k}", ["--address", self.address,
                                             "--resources", json.dumps({WORKER_RESOURCE: 4})], {})
        self._wait_for_nodes(1 + self.worker_nodes, timeout)
        return self

    def _wait_for_job_server(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                JobSubmissionClient(self.dashboard_url, headers=auth_headers()).list_jobs()
                return
            except Exception:
                if time.monotonic() > deadline or self.processes[0].poll() is not None:
                    self.stop()
                    raise RuntimeError(f"the head node did not come up; see {self.temp_dir}") from None
                time.sleep(1.0)

    def _wait_for_nodes(self, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            status = subprocess.run([self.ray, "status", "--address", self.address],
                                    capture_output=True, text=True, env={**os.environ, **TOKEN_AUTH})
            if status.stdout.count(" node_") >= count:
                return
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"only some nodes came up:\n{status.stdout}")
            time.sleep(1.0)

    def stop(self) -> None:
        """Stops the nodes this object started (their whole process groups)."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for process in reversed(self.processes):
                try:
                    os.killpg(process.pid, sig)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and any(p.poll() is None for p in self.processes):
                time.sleep(0.5)
        self.processes.clear()

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv=None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    if args != ["up"]:
        print(__doc__)
        return 2
    # Ctrl-C and `kill` both stop the nodes; set explicitly, since a shell's
    # background job starts with SIGINT ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with LocalCluster() as cluster:
        try:
            # Inside the try: a signal right after this line must still stop cleanly.
            print(f"cluster up: address {cluster.address}, jobs at {cluster.dashboard_url}, "
                  f"worker node resource '{WORKER_RESOURCE}'; Ctrl-C stops it", flush=True)
            while all(p.poll() is None for p in cluster.processes):
                time.sleep(1.0)
        except KeyboardInterrupt:
            print("stopping the cluster", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
