import pytest

from ansible_collections.picluster.hpl.plugins.module_utils import slurm as slurm_conf
from ansible_collections.picluster.hpl.plugins.module_utils.sizing import HplInputError
from ansible_collections.picluster.hpl.plugins.module_utils.slurm import SlurmConfError


def host(name, memtotal_mb, vcpus, hostname=None, cgroup_mb=None, sockets=1, threads=1, **extra):
    facts = {'hostname': hostname or name, 'memtotal_mb': memtotal_mb, 'processor_vcpus': vcpus,
             'processor_count': sockets, 'processor_cores': vcpus // (sockets * threads),
             'processor_threads_per_core': threads}
    variables = {'inventory_hostname': name, 'ansible_facts': facts}
    if cgroup_mb:
        variables['picluster_hpl_node'] = {'memory_mb': cgroup_mb, 'cores': vcpus}
    variables.update(extra)
    return variables


def pi_cluster():
    # An 8 GB and a 4 GB Pi 4, and a Pi 5 whose container is held to 2 GiB by its cgroup.
    return [host('pi1', 7812, 4, ansible_host='10.0.0.11'), host('pi2', 3794.6, 4, ansible_host='10.0.0.12'),
            host('pi5', 8063, 4, cgroup_mb=2048, ansible_host='10.0.0.15')]


# What slurmd -C prints on a Pi 4 with 4 GB (the second line is slurmd's own).
PI4_SLURMD = 'NodeName=pi2 CPUs=4 Boards=1 SocketsPerBoard=1 CoresPerSocket=4 ThreadsPerCore=1 RealMemory=3792\nUpTime=0-01:02:03'
X86_SLURMD = 'NodeName=x86 CPUs=2 Boards=1 SocketsPerBoard=1 CoresPerSocket=1 ThreadsPerCore=2 RealMemory=23989'


def test_heterogeneous_nodes_get_their_own_memory_and_cpus():
    nodes = slurm_conf.slurm_nodes(pi_cluster() + [host('x86', 24000, 2)], [None, PI4_SLURMD, None, X86_SLURMD])
    # pi2's MemTotal says 3794 MiB, slurmd 3792: never more than slurmd finds.
    assert [(n['name'], n['cpus'], n['real_memory']) for n in nodes] == [
        ('pi1', 4, 7812), ('pi2', 4, 3792), ('pi5', 4, 2048), ('x86', 2, 23989)]
    assert (nodes[1]['sockets'], nodes[1]['cores_per_socket'], nodes[1]['threads_per_core']) == (1, 4, 1)
    assert (nodes[3]['sockets'], nodes[3]['cores_per_socket'], nodes[3]['threads_per_core']) == (1, 1, 2)
    assert 'sockets' not in nodes[0]


def test_ansibles_processor_facts_are_not_taken_for_the_topology():
    # On ARM, Ansible counts every core as a socket (processor_count 4, processor_cores 1).
    variables = host('pi1', 3794, 4, sockets=4)
    node, = slurm_conf.slurm_nodes([variables])
    assert 'sockets' not in node


def test_memory_follows_the_sizing_rules_an_explicit_figure_first():
    node, = slurm_conf.slurm_nodes([host('pi1', 7812, 4, cgroup_mb=4096, hpl_node_memory_mb=3000.9)])
    assert node['real_memory'] == 3000


def test_the_conf_has_one_line_per_node_and_a_partition_of_them_all():
    nodes = slurm_conf.slurm_nodes(pi_cluster(), [None, PI4_SLURMD])
    text = slurm_conf.slurm_conf(nodes, nodes[0], cluster='Home', partition='pis')
    lines = text.splitlines()
    assert 'ClusterName=home' in lines and 'SlurmctldHost=pi1(10.0.0.11)' in lines
    assert 'NodeName=pi1 NodeAddr=10.0.0.11 CPUs=4 RealMemory=7812 State=UNKNOWN' in lines
    assert 'NodeName=pi2 NodeAddr=10.0.0.12 CPUs=4 Sockets=1 CoresPerSocket=4 ThreadsPerCore=1 '\
           'RealMemory=3792 State=UNKNOWN' in lines
    assert lines[-1] == 'PartitionName=pis Nodes=pi1,pi2,pi5 Default=YES MaxTime=INFINITE State=UP'
    assert 'ProctrackType=proctrack/cgroup' in lines and 'TaskPlugin=task/cgroup,task/affinity' in lines
    assert 'AuthType=auth/munge' in lines and 'SelectTypeParameters=CR_Core_Memory' in lines


def test_without_cgroups_jobs_are_tracked_by_their_processes():
    nodes = slurm_conf.slurm_nodes(pi_cluster())
    lines = slurm_conf.slurm_conf(nodes, nodes[0], cgroup=False).splitlines()
    assert 'ProctrackType=proctrack/linuxproc' in lines and 'TaskPlugin=task/affinity' in lines
    lines = slurm_conf.slurm_conf(nodes, nodes[0], cgroup=False, bind=False).splitlines()
    assert 'TaskPlugin=task/none' in lines
    lines = slurm_conf.slurm_conf(nodes, nodes[0], bind=False).splitlines()
    assert 'TaskPlugin=task/cgroup' in lines and 'ProctrackType=proctrack/cgroup' in lines


def test_a_topology_that_does_not_add_up_is_left_to_slurm():
    # slurmd sees 8 CPUs, but the node's cgroup gives it 4: each CPU counts as a core.
    node, = slurm_conf.slurm_nodes([host('odd', 1000, 4)], [X86_SLURMD.replace('CoresPerSocket=1', 'CoresPerSocket=4')])
    assert 'sockets' not in node
    assert 'NodeName=odd NodeAddr=odd CPUs=4 RealMemory=1000 State=UNKNOWN' in slurm_conf.slurm_conf([node], node)


def test_the_node_name_is_the_host_name_slurmd_finds_itself_by():
    node, = slurm_conf.slurm_nodes([host('node-a', 1000, 4, hostname='pi1')])
    assert (node['name'], node['inventory_name'], node['address']) == ('pi1', 'node-a', 'node-a')


@pytest.mark.parametrize('hosts, message', [
    ([host('pi1', 1000, 4, hostname='raspberrypi'), host('pi2', 1000, 4, hostname='raspberrypi')],
     "'pi1' and 'pi2' both have the host name 'raspberrypi'"),
    ([host('pi1', 1000, 4, hostname='pi[1-3]')], "host name 'pi[1-3]'"),
    ([host('pi1', 1000, 4, hostname='pi1,pi2')], "host name 'pi1,pi2'"),
])
def test_names_slurm_would_misread_are_refused(hosts, message):
    with pytest.raises(SlurmConfError, match=message.replace('[', r'\[').replace(']', r'\]')):
        slurm_conf.slurm_nodes(hosts)


def test_what_the_sizing_refuses_is_refused_here_too():
    with pytest.raises(HplInputError, match='no memory facts'):
        slurm_conf.slurm_nodes([{'inventory_hostname': 'pi1', 'ansible_facts': {}}])
    with pytest.raises(HplInputError, match='same address'):
        slurm_conf.slurm_nodes([host('pi1', 1000, 4, ansible_host='10.0.0.1'),
                                host('pi2', 1000, 4, ansible_host='10.0.0.1')])


@pytest.mark.parametrize('field', ['cluster', 'partition'])
@pytest.mark.parametrize('value', ['two words', 'a,b', '', 'x\nNodeName=evil', None])
def test_a_name_that_would_add_a_word_or_line_is_refused(field, value):
    nodes = slurm_conf.slurm_nodes(pi_cluster())
    with pytest.raises(SlurmConfError, match='the %s name' % field):
        slurm_conf.slurm_conf(nodes, nodes[0], **{field: value})


def test_no_nodes_is_refused():
    with pytest.raises(SlurmConfError, match='no compute nodes'):
        slurm_conf.slurm_conf([], {'name': 'pi1', 'address': 'pi1'})


# scontrol show job --oneliner, as Slurm 22.05 prints a finished job (shortened).
JOB = ('JobId=7 JobName=hpl-20261205T170000Z UserId=hpl(1001) GroupId=hpl(1001) MCS_label=N/A Priority=1 '
       'Account=(null) QOS=(null) JobState=TIMEOUT Reason=TimeLimit Dependency=(null) Requeue=1 Restarts=0 '
       'BatchFlag=1 Reboot=0 ExitCode=0:15 RunTime=00:01:01 TimeLimit=00:01:00 Partition=cluster '
       'NodeList=pi[1-3] BatchHost=pi1 NumNodes=3 NumCPUs=6 NumTasks=6 Command=/home/hpl/benchmark/x/job.sh')


def test_a_jobs_record_is_read_from_scontrol():
    assert slurm_conf.job(JOB) == {
        'job_id': '7', 'state': 'TIMEOUT', 'reason': 'TimeLimit', 'partition': 'cluster', 'nodes': 'pi[1-3]',
        'batch_host': 'pi1', 'exit_code': '0:15', 'time_limit': '00:01:00'}
    assert slurm_conf.job(JOB.replace('Reason=TimeLimit', 'Reason=None'))['reason'] is None


@pytest.mark.parametrize('text', [None, '', 'slurm_load_jobs error: Invalid job id specified'])
def test_a_job_slurm_does_not_know_is_none(text):
    assert slurm_conf.job(text) is None


def test_each_node_that_takes_no_jobs_is_named_with_slurms_reason():
    lines = ['pi1|idle|none', 'pi2|drained|fan broken', 'pi3|down*|Not responding', 'pi5|mixed|none']
    assert slurm_conf.down_nodes(lines, ['pi1', 'pi2', 'pi3', 'pi4', 'pi5']) == [
        'pi2 is drained in Slurm ("fan broken");', 'pi3 is down* in Slurm ("Not responding");',
        'pi4 is not known to Slurm;']
    assert slurm_conf.down_nodes(['pi1|allocated|none', 'pi2|completing|none'], ['pi1', 'pi2']) == []
    assert slurm_conf.down_nodes([], ['pi1']) == ['pi1 is not known to Slurm;']
    # Idle, but not responding: sinfo says idle* and it takes no jobs.
    assert slurm_conf.down_nodes(['pi1|idle*|none'], ['pi1']) == ['pi1 is idle* in Slurm;']
