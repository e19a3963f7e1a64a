"""Training across SLURM nodes: one `torchrun` per node, its rendezvous
read from the job's SLURM_* variables.

`deploy/slurm/train.sbatch` runs `srun --ntasks-per-node=1 python -m
easel_training slurm-torchrun -- <train flags>` and this module turns what
SLURM set on each node into torchrun's flags: the first host of
SLURM_JOB_NODELIST is the rendezvous host, SLURM_JOB_NUM_NODES the number
of nodes, SLURM_NODEID this node's rank, the job id the rendezvous id, and
EASEL_PROCS_PER_NODE (the batch script sets it from its --ntasks-per-node)
the processes each node starts.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from typing import Mapping

# torchrun's default c10d port; the job id spreads jobs that share a node.
BASE_PORT = 29400


class SlurmError(ValueError):
    """The environment is not a SLURM job step this launcher can use."""


def expand_hostlist(hostlist: str) -> list[str]:
    """SLURM's compressed host list (`node[01-03,7],gpu-a[1-2]-x`) as names,
    in order. Ranges keep their zero padding; several bracket groups in one
    name expand as their product."""
    names: list[str] = []
    for item in _split_outside_brackets(hostlist.strip()):
        if not item:
            raise SlurmError(f"empty host name in the host list {hostlist!r}")
        names.extend(_expand_one(item, hostlist))
    if not names:
        raise SlurmError("the host list is empty")
    return names


def _split_outside_brackets(text: str) -> list[str]:
    items, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
            if depth < 0:
                raise SlurmError(f"unbalanced ']' in the host list {text!r}")
        elif ch == "," and depth == 0:
            items.append(text[start:i])
            start = i + 1
    if depth != 0:
        raise SlurmError(f"unbalanced '[' in the host list {text!r}")
    items.append(text[start:])
    return items


def _expand_one(item: str, whole: str) -> list[str]:
    match = re.search(r"\[([^\]]*)\]", item)
    if match is None:
        return [item]
    head, tail = item[:match.start()], item[match.end():]
    out = []
    for part in match.group(1).split(","):
        bounds = part.split("-")
        if len(bounds) == 1 and bounds[0].isdigit():
            values = [bounds[0]]
        elif len(bounds) == 2 and all(b.isdigit() for b in bounds) and int(bounds[0]) <= int(bounds[1]):
            width = len(bounds[0])
            values = [str(n).zfill(width) for n in range(int(bounds[0]), int(bounds[1]) + 1)]
        else:
            raise SlurmError(f"cannot read the range {part!r} in the host list {whole!r}")
        for value in values:
            out.extend(_expand_one(head + value + tail, whole))
    return out


def _count(value: str) -> int:
    """SLURM's per-node counts read like `2` or `2(x3)`; the first count."""
    match = re.match(r"\s*(\d+)", value)
    if match is None:
        raise SlurmError(f"not a count: {value!r}")
    return int(match.group(1))


@dataclass(frozen=True)
class Rendezvous:
    host: str
    port: int
    nodes: int
    node_rank: int
    procs_per_node: int
    run_id: str

    @property
    def world(self) -> int:
        return self.nodes * self.procs_per_node

    def torchrun_args(self) -> list[str]:
        return [f"--nnodes={self.nodes}", f"--nproc_per_node={self.procs_per_node}",
                f"--node_rank={self.node_rank}", "--rdzv_backend=c10d",
                f"--rdzv_endpoint={self.host}:{self.port}", f"--rdzv_id={self.run_id}"]


def rendezvous(env: Mapping[str, str]) -> Rendezvous:
    """Where this node's torchrun meets the others, from a job step's
    environment; a SlurmError says which variable is missing or wrong."""
    def need(name: str) -> str:
        value = env.get(name)
        if not value:
            raise SlurmError(f"{name} is not set: run this inside a SLURM job step "
                             "(srun in an sbatch script), as deploy/slurm/train.sbatch does")
        return value

    hosts = expand_hostlist(need("SLURM_JOB_NODELIST"))
    nodes = _count(env.get("SLURM_JOB_NUM_NODES") or env.get("SLURM_NNODES") or str(len(hosts)))
    if nodes != len(hosts):
        raise SlurmError(f"SLURM_JOB_NUM_NODES says {nodes} nodes but SLURM_JOB_NODELIST "
                         f"names {len(hosts)}: {', '.join(hosts)}")
    node_rank = _count(need("SLURM_NODEID"))
    if node_rank >= nodes:
        raise SlurmError(f"SLURM_NODEID {node_rank} is outside the job's {nodes} node(s)")
    procs = env.get("EASEL_PROCS_PER_NODE") or env.get("SLURM_NTASKS_PER_NODE") or "1"
    procs_per_node = _count(procs)
    if procs_per_node < 1:
        raise SlurmError(f"EASEL_PROCS_PER_NODE must be at least 1, not {procs}")
    job = need("SLURM_JOB_ID")
    port = env.get("EASEL_RDZV_PORT")
    if port is None:
        port_number = BASE_PORT + (int(job) % 1000 if job.isdigit() else 0)
    elif port.isdigit() and 0 < int(port) < 65536:
        port_number = int(port)
    else:
        raise SlurmError(f"EASEL_RDZV_PORT must be a port number, not {port!r}")
    return Rendezvous(hosts[0], port_number, nodes, node_rank, procs_per_node, f"easel-{job}")


def torchrun_command(env: Mapping[str, str], train_args: list[str]) -> list[str]:
    """The command this node runs: torchrun with the rendezvous, then the
    trainer with `train_args`."""
    rdzv = rendezvous(env)
    return [sys.executable, "-m", "torch.distributed.run", *rdzv.torchrun_args(),
            "-m", "easel_training", "train", *train_args]


def main(train_args: list[str]) -> None:
    command = torchrun_command(os.environ, train_args)
    print("slurm-torchrun:", " ".join(command[3:9]), flush=True)
    os.execv(command[0], command)
