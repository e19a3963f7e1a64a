"""The SLURM launcher's rendezvous, read from example job environments (a
multi-node rendezvous cannot run on one machine)."""

from __future__ import annotations

import re
import sys

import pytest
from easel_training import slurm


@pytest.mark.parametrize("hostlist, names", [
    ("node7", ["node7"]),
    ("a,b,c", ["a", "b", "c"]),
    ("node[01-03,07]", ["node01", "node02", "node03", "node07"]),
    ("gpu[8-10],cpu1", ["gpu8", "gpu9", "gpu10", "cpu1"]),
    ("r[1-2]-n[09-10]", ["r1-n09", "r1-n10", "r2-n09", "r2-n10"]),
    ("c[5]", ["c5"]),
])
def test_host_lists_expand_as_scontrol_show_hostnames_does(hostlist, names):
    assert slurm.expand_hostlist(hostlist) == names


@pytest.mark.parametrize("hostlist, says", [
    ("node[1-3", "unbalanced '['"),
    ("node1-3]", "unbalanced ']'"),
    ("node[3-1]", "cannot read the range '3-1'"),
    ("node[a-b]", "cannot read the range 'a-b'"),
    ("a,,b", "empty host name"),
])
def test_bad_host_lists_say_what_they_cannot_read(hostlist, says):
    with pytest.raises(slurm.SlurmError, match=re.escape(says)):
        slurm.expand_hostlist(hostlist)


JOB = {"SLURM_JOB_ID": "81234", "SLURM_JOB_NODELIST": "gpu[03-05]", "SLURM_JOB_NUM_NODES": "3",
       "SLURM_NODEID": "2", "EASEL_PROCS_PER_NODE": "4"}


def test_the_first_node_hosts_the_rendezvous_and_every_node_knows_its_rank():
    rdzv = slurm.rendezvous(JOB)
    assert (rdzv.host, rdzv.nodes, rdzv.node_rank, rdzv.procs_per_node) == ("gpu03", 3, 2, 4)
    assert rdzv.world == 12
    assert rdzv.port == slurm.BASE_PORT + 234, "jobs sharing a host meet on different ports"
    assert rdzv.torchrun_args() == [
        "--nnodes=3", "--nproc_per_node=4", "--node_rank=2", "--rdzv_backend=c10d",
        "--rdzv_endpoint=gpu03:29634", "--rdzv_id=easel-81234"]


def test_processes_per_node_fall_back_to_slurms_tasks_per_node_then_one():
    job = {k: v for k, v in JOB.items() if k != "EASEL_PROCS_PER_NODE"}
    assert slurm.rendezvous({**job, "SLURM_NTASKS_PER_NODE": "2(x3)"}).procs_per_node == 2
    assert slurm.rendezvous(job).procs_per_node == 1
    assert slurm.rendezvous({**job, "EASEL_RDZV_PORT": "31000"}).port == 31000


def test_the_command_is_torchrun_then_the_trainer_with_the_flags_given():
    command = slurm.torchrun_command(JOB, ["--name", "x", "--continue_train"])
    assert command[:3] == [sys.executable, "-m", "torch.distributed.run"]
    assert command[-6:] == ["-m", "easel_training", "train", "--name", "x", "--continue_train"]


@pytest.mark.parametrize("change, says", [
    ({"SLURM_JOB_NODELIST": None}, "SLURM_JOB_NODELIST is not set: run this inside a SLURM job"),
    ({"SLURM_NODEID": None}, "SLURM_NODEID is not set"),
    ({"SLURM_JOB_NUM_NODES": "2"}, "says 2 nodes but SLURM_JOB_NODELIST names 3"),
    ({"SLURM_NODEID": "3"}, "SLURM_NODEID 3 is outside the job's 3 node"),
    ({"EASEL_PROCS_PER_NODE": "0"}, "at least 1"),
    ({"EASEL_RDZV_PORT": "http"}, "must be a port number"),
])
def test_environments_it_cannot_use_are_refused_with_the_variable_named(change, says):
    env = {k: v for k, v in {**JOB, **change}.items() if v is not None}
    with pytest.raises(slurm.SlurmError, match=says):
        slurm.rendezvous(env)
