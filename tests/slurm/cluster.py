"""A private single-node SLURM cluster in a temporary folder, for tests:
its own slurm.conf (this host's CPUs, free ports), its own munged on its
own socket, slurmctld and slurmd in the foreground as our children. Every
daemon it started is stopped by its pid on the way out, failure or not, and
so are the job steps its slurmd left."""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd")
PR_SET_CHILD_SUBREAPER = 36


class ClusterError(RuntimeError):
    pass


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def missing() -> str | None:
    """Why no cluster can start here, or None."""
    if os.geteuid() != 0:
        return ("the SLURM tests start slurmd, which must run as root: run `make test` as root "
                "(the CI machine is), or `sudo make test-slurm`")
    absent = [d for d in (*DAEMONS, "sbatch", "squeue", "scontrol", "scancel", "mungekey")
              if shutil.which(d) is None and not Path(f"/usr/sbin/{d}").exists()]
    if absent:
        return (f"{', '.join(absent)} not installed: `make slurm` installs Debian's slurm-wlm "
                "and munge")
    return None


def _bin(name: str) -> str:
    return shutil.which(name) or f"/usr/sbin/{name}"


class Cluster:
    def __init__(self, root: Path):
        self.root = root
        self.host = socket.gethostname().split(".")[0]
        self.conf = root / "slurm.conf"
        self.env = {**os.environ, "SLURM_CONF": str(self.conf)}
        self.procs: dict[str, subprocess.Popen] = {}

    # ---------------------------------------------------------------- start

    def __enter__(self) -> "Cluster":
        why = missing()
        if why:
            raise ClusterError(why)
        # The job steps slurmd starts outlive it; as their subreaper this
        # process collects them once they end, so no zombie is left.
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        # A SIGTERM (a CI timeout, `timeout`, kill) unwinds like Ctrl-C, so
        # the daemons are stopped on the way out instead of left running.
        self._term = signal.signal(signal.SIGTERM, _interrupt)
        try:
            self._write_conf()
            self._start_munge()
            self._start("slurmctld", [_bin("slurmctld"), "-D", "-f", str(self.conf)])
            self._start("slurmd", [_bin("slurmd"), "-D", "-f", str(self.conf), "-N", self.host])
            self._wait_idle()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _write_conf(self) -> None:
        r = self.root
        for d in ("state", "spool", "log", "munge"):
            (r / d).mkdir(parents=True, exist_ok=True)
        os.chmod(r / "munge", 0o700)
        cpus = os.cpu_count() or 1
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
        self.conf.write_text(f"""\
ClusterName=easeltest
SlurmctldHost={self.host}
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={r / 'munge' / 'munge.socket'},cred_expire=30
StateSaveLocation={r / 'state'}
SlurmdSpoolDir={r / 'spool'}
SlurmctldPidFile={r / 'slurmctld.pid'}
SlurmdPidFile={r / 'slurmd.pid'}
SlurmctldLogFile={r / 'log' / 'slurmctld.log'}
SlurmdLogFile={r / 'log' / 'slurmd.log'}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
KillWait=10
MinJobAge=300
NodeName={self.host} CPUs={cpus} RealMemory={memory} State=UNKNOWN
PartitionName=easel Nodes={self.host} Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
""")

    def _start_munge(self) -> None:
        m = self.root / "munge"
        key = m / "munge.key"
        subprocess.run([_bin("mungekey"), "--create", f"--keyfile={key}"], check=True,
                       capture_output=True)
        self._start("munged", [_bin("munged"), "--foreground", f"--socket={m / 'munge.socket'}",
                               f"--key-file={key}", f"--pid-file={m / 'munged.pid'}",
                               f"--log-file={m / 'munged.log'}", f"--seed-file={m / 'seed'}",
                               "--force"])
        self._until(lambda: (m / "munge.socket").exists(), "munged to open its socket")

    def _start(self, name: str, cmd: list[str]) -> None:
        log = open(self.root / "log" / f"{name}.out", "wb")
        self.procs[name] = subprocess.Popen(cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)

    def _until(self, ready, what: str, timeout: float = 60) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise ClusterError(f"{name} exited ({proc.returncode}) while waiting for "
                                       f"{what}:\n{self.logs()}")
            if ready():
                return
            time.sleep(0.2)
        raise ClusterError(f"timed out waiting for {what}:\n{self.logs()}")

    def _wait_idle(self) -> None:
        def idle() -> bool:
            out = self.run("sinfo", "-h", "-o", "%T", check=False).stdout
            return "idle" in out
        self._until(idle, "the node to be idle")

    # ---------------------------------------------------------------- use

    def run(self, *cmd: str, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
        done = subprocess.run(list(cmd), env={**self.env, **(env or {})}, capture_output=True,
                              text=True, timeout=60)
        if check and done.returncode != 0:
            raise ClusterError(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr}")
        return done

    def state(self, job: str | None = None) -> str:
        """What the cluster thinks of a job and of the node, with the daemons'
        logs: for a test's failure message."""
        cmds = [("sinfo", "-N", "-l"), ("squeue", "-l")]
        if job:
            cmds.append(("scontrol", "show", "job", job))
        cmds.append(("scontrol", "show", "node"))
        parts = []
        for cmd in cmds:
            done = self.run(*cmd, check=False)
            parts.append(f"$ {' '.join(cmd)}\n{done.stdout}{done.stderr}")
        return "\n".join(parts) + "\n" + self.logs()

    def logs(self) -> str:
        parts = []
        for f in sorted((self.root / "log").glob("*")) + [self.root / "munge" / "munged.log"]:
            if f.exists():
                parts.append(f"--- {f.name}\n" + f.read_text(errors="replace")[-3000:])
        return "\n".join(parts)

    # ---------------------------------------------------------------- stop

    def __exit__(self, *exc) -> None:
        if "slurmctld" in self.procs and self.procs["slurmctld"].poll() is None:
            self.run("scancel", "--full", "--user=root", check=False)
            end = time.monotonic() + 20
            while time.monotonic() < end and self.run("squeue", "-h", check=False).stdout.strip():
                time.sleep(0.5)
        for name in reversed(DAEMONS):
            proc = self.procs.get(name)
            if proc is None or proc.poll() is not None:
                continue
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        self._kill_left_steps()
        self._reap()
        if getattr(self, "_term", None) is not None:
            signal.signal(signal.SIGTERM, self._term)
            self._term = None

    @staticmethod
    def _reap() -> None:
        end = time.monotonic() + 10
        while time.monotonic() < end:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                time.sleep(0.1)

    def _kill_left_steps(self) -> None:
        """slurmstepd processes of this cluster's jobs outlive a stopped
        slurmd: find them by our configuration in their environment."""
        mine = str(self.conf).encode()
        for pid_dir in Path("/proc").iterdir():
            if not pid_dir.name.isdigit():
                continue
            try:
                cmd = (pid_dir / "cmdline").read_bytes()
                environ = (pid_dir / "environ").read_bytes()
            except OSError:
                continue
            if cmd.startswith(b"slurmstepd") and mine in environ:
                try:
                    os.kill(int(pid_dir.name), signal.SIGKILL)
                except ProcessLookupError:
                    pass
