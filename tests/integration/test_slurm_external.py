"""HPL as a job of a Slurm cluster the collection did not set up, with MPICH.

Two containers of this machine's own architecture (scripts/nodes, no emulation) get Slurm
as an admin would set it up by hand: its own cluster name, a default partition called
``debug``, the nodes written as a range, no ``slurm`` role. Then
``site.yml -e benchmark_launcher=slurm`` with MPICH, whose ranks srun starts through PMI-2,
and xhpl built from Debian's hpcc source against it. The launcher's checks are run against
the same cluster: a drained node, and a benchmark user with another uid on one node.
"""

import json
import os
import subprocess

import pytest

from helpers import ROOT, ansible_env, documents, nodes, on, run, sh

pytestmark = pytest.mark.slow

NODES = ('ext1', 'ext2')
NETWORK = 'picluster-external'
SLURM_CONF = '''ClusterName=lab
SlurmctldHost=ext1
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
SlurmdSpoolDir=/var/lib/slurm/slurmd
StateSaveLocation=/var/lib/slurm/slurmctld
NodeName=ext[1-2] CPUs=2 RealMemory=900 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
'''


def slurm_by_hand():
    for node in NODES:
        packages = 'munge slurmd slurm-client' + (' slurmctld' if node == 'ext1' else '')
        on(node, 'DEBIAN_FRONTEND=noninteractive apt-get install -y -q %s >/dev/null' % packages)
    key = subprocess.run(['docker', 'exec', 'ext1', 'cat', '/etc/munge/munge.key'], stdout=subprocess.PIPE,
                         check=True).stdout
    subprocess.run(['docker', 'exec', '-i', 'ext2', 'sh', '-ec', 'cat > /etc/munge/munge.key; systemctl restart munge'],
                   input=key, check=True)
    for node in NODES:
        on(node, 'cat > /etc/slurm/slurm.conf', stdin=SLURM_CONF)
    on('ext1', 'systemctl restart slurmctld')
    for node in NODES:
        on(node, 'systemctl restart slurmd')
    on('ext1', 'for _ in $(seq 60); do [ "$(sinfo -h -o %T | sort -u)" = idle ] && exit 0; sleep 1; done; sinfo; exit 1')


@pytest.fixture(scope='module')
def cluster(tmp_path_factory):
    try:
        nodes('up', sh('dpkg', '--print-architecture').strip(), NETWORK, *NODES)
        slurm_by_hand()
        inventory = tmp_path_factory.mktemp('external') / 'inventory.yml'
        inventory.write_text(json.dumps({'cluster': {
            'hosts': {node: {'ansible_connection': 'community.docker.docker'} for node in NODES},
            'vars': {'ansible_python_interpreter': '/usr/bin/python3', 'mpi_implementation': 'mpich',
                     'hpl_install_method': 'hpcc_source', 'hpl_node_ranks': 1, 'benchmark_max_n': 576,
                     'benchmark_poll': 3}}}))
        yield inventory
    finally:
        nodes('down', NETWORK, *NODES)


def site(inventory, results_dir, *args):
    return run(['ansible-playbook', '-i', str(inventory), os.path.join(ROOT, 'site.yml'),
                '-e', 'benchmark_launcher=slurm'] + list(args),
               ansible_env(os.path.join(ROOT, '.cache', 'collections'), results_dir=results_dir))


def test_hpl_runs_as_a_job_of_a_slurm_the_collection_did_not_set_up(cluster, tmp_path):
    result = site(cluster, tmp_path)
    assert result.returncode == 0, result.stdout[-6000:]
    (doc,) = documents(tmp_path)
    assert doc['status'] == 'passed' and doc['mpi']['name'] == 'mpich'
    # The cluster's own default partition, which nothing in the play named.
    assert {key: doc['slurm'][key] for key in ('state', 'exit_code', 'partition', 'nodes', 'batch_host')} == {
        'state': 'COMPLETED', 'exit_code': '0:0', 'partition': 'debug', 'nodes': 'ext[1-2]', 'batch_host': 'ext1'}
    assert '--partition' not in doc['run']['command']
    # One MPI job of two ranks, a rank a node: HPL's 1 x 2 grid needs both in one world.
    assert [(test['p'], test['q']) for test in doc['results']] == [(1, 2)]
    job = on('ext1', 'cat %s/job.sh' % doc['run']['directory'])
    assert 'srun --mpi=pmi2 --distribution=arbitrary' in job


def test_a_drained_node_is_named_before_any_job(cluster, tmp_path):
    on('ext1', 'scontrol update nodename=ext2 state=drain reason="disk full"')
    try:
        jobs = on('ext1', 'scontrol show jobs --oneliner')
        result = site(cluster, tmp_path)
        assert result.returncode != 0
        assert 'Slurm cannot run HPL on every node: ext2 is drained in Slurm ("disk full")' in result.stdout
        assert on('ext1', 'scontrol show jobs --oneliner') == jobs and documents(tmp_path) == []
    finally:
        on('ext1', 'scontrol update nodename=ext2 state=resume')


def test_a_user_with_another_number_on_one_node_is_refused(cluster, tmp_path):
    on('ext2', 'usermod -u 2345 hpl')
    result = site(cluster, tmp_path)
    assert result.returncode != 0
    assert "Slurm starts a job's tasks by user and group number, and hpl has different ones" in result.stdout
    assert '"ext2": "2345:' in result.stdout
    assert documents(tmp_path) == []
