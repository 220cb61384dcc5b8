# -*- coding: utf-8 -*-
# Copyright: picluster.hpl contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Slurm for the cluster: its configuration from each node's facts, and a job's record.

Plain functions with no Ansible imports, behind the ``slurm_nodes`` and ``slurm_conf``
filters and the results document (``job``). A node's memory and cores are the sizing's (``sizing.nodes_from_hostvars``:
``hpl_node_memory_mb``, else the smaller of the cgroup limit and MemTotal), so Slurm offers
a job what HPL sizes for. Slurm names a node by its host name, the name ``slurmd`` finds
itself by, and reaches it at the address MPI uses.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math
import re

from ansible_collections.picluster.hpl.plugins.module_utils import sizing

# What Slurm takes as a node or partition name: no brackets, commas or spaces, which its
# host lists read as syntax.
NAME = re.compile(r'[A-Za-z0-9][A-Za-z0-9_.-]{0,63}')


class SlurmConfError(ValueError):
    """Input that would make a slurm.conf Slurm refuses or misreads; says what to change."""


def slurm_nodes(hosts, hardware=None):
    """Host variables of the cluster's hosts, and what ``slurmd -C`` printed on each (in
    the same order; optional) -> one mapping per node for slurm.conf."""
    nodes = sizing.nodes_from_hostvars(hosts)
    hardware = list(hardware or []) + [None] * len(nodes)
    out = [_slurm_node(node, host.get('ansible_facts') or {}, _fields(found))
           for node, host, found in zip(nodes, hosts, hardware)]
    _check_unique(out)
    return out


def _slurm_node(node, facts, detected):
    name = str(facts.get('hostname') or node['name'])
    if not NAME.fullmatch(name):
        raise SlurmConfError("node %r has the host name %r, which Slurm cannot take as a node name: give it a "
                             "host name of letters, digits, '.', '-' and '_'" % (node['name'], name))
    memory = int(math.floor(node['memory_mb']))
    if _count(detected, 'RealMemory'):
        # Never more than slurmd finds, or Slurm drains the node ("Low RealMemory").
        memory = min(memory, _count(detected, 'RealMemory'))
    slurm = {'inventory_name': node['name'], 'name': name, 'address': node['address'], 'cpus': node['cores'],
             'real_memory': memory}
    slurm.update(_topology(detected, node['cores']))
    return slurm


def _count(fields, key):
    try:
        return int(fields.get(key))
    except (TypeError, ValueError):
        return None


def _topology(detected, cpus):
    """Sockets, cores and threads as slurmd finds them, when they add up to the node's CPUs;
    else nothing, and Slurm counts each CPU as a core. (Ansible's processor facts will not
    do: on ARM they count every core as a socket.)"""
    counts = [_count(detected, key) for key in ('Boards', 'SocketsPerBoard', 'CoresPerSocket', 'ThreadsPerCore')]
    if None in counts or min(counts) < 1:
        return {}
    boards, sockets, cores, threads = counts
    if boards * sockets * cores * threads != cpus:
        return {}
    return {'sockets': boards * sockets, 'cores_per_socket': cores, 'threads_per_core': threads}


def _check_unique(nodes):
    seen = {}
    for node in nodes:
        other = seen.setdefault(node['name'], node['inventory_name'])
        if other != node['inventory_name']:
            raise SlurmConfError("nodes %r and %r both have the host name %r: Slurm names a node by its host name, "
                                 "so give each its own (sd_image_hostname, or hostnamectl)"
                                 % (other, node['inventory_name'], node['name']))


def slurm_conf(nodes, controller, cluster='picluster', partition='cluster', cgroup=True, bind=True):
    """The text of slurm.conf: ``controller`` is the name and address of slurmctld's host
    (a mapping as ``slurm_nodes`` gives), ``nodes`` the compute nodes."""
    for label, value in (('cluster', cluster), ('partition', partition)):
        if not isinstance(value, str) or not NAME.fullmatch(value):
            raise SlurmConfError("the %s name %r is not one Slurm takes: use letters, digits, '.', '-' and '_'"
                                 % (label, value))
    if not nodes:
        raise SlurmConfError("no compute nodes: put the cluster's nodes in the group the slurm role runs on")
    lines = _header(cluster, controller, cgroup, bind) + [_node_line(node) for node in nodes]
    lines.append('PartitionName=%s Nodes=%s Default=YES MaxTime=INFINITE State=UP'
                 % (partition, ','.join(node['name'] for node in nodes)))
    return '\n'.join(lines) + '\n'


def _header(cluster, controller, cgroup, bind):
    tasks = [plugin for plugin, wanted in (('task/cgroup', cgroup), ('task/affinity', bind)) if wanted]
    return [
        'ClusterName=%s' % cluster.lower(),
        'SlurmctldHost=%s(%s)' % (controller['name'], controller['address']),
        'AuthType=auth/munge',
        'SlurmUser=slurm',
        'StateSaveLocation=/var/lib/slurm/slurmctld',
        'SlurmdSpoolDir=/var/lib/slurm/slurmd',
        'SlurmctldPidFile=/run/slurmctld.pid',
        'SlurmdPidFile=/run/slurmd.pid',
        'SlurmctldLogFile=/var/log/slurm/slurmctld.log',
        'SlurmdLogFile=/var/log/slurm/slurmd.log',
        'SchedulerType=sched/backfill',
        'SelectType=select/cons_tres',
        'SelectTypeParameters=CR_Core_Memory',
        'ProctrackType=%s' % ('proctrack/cgroup' if cgroup else 'proctrack/linuxproc'),
        'TaskPlugin=%s' % (','.join(tasks) or 'task/none'),
        'MpiDefault=none',
        # A node down for not answering comes back by itself once it registers again.
        'ReturnToService=2',
        'SlurmdTimeout=300',
    ]


def _node_line(node):
    fields = ['NodeName=%s' % node['name'], 'NodeAddr=%s' % node['address'], 'CPUs=%d' % node['cpus']]
    if node.get('sockets'):
        fields += ['Sockets=%d' % node['sockets'], 'CoresPerSocket=%d' % node['cores_per_socket'],
                   'ThreadsPerCore=%d' % node['threads_per_core']]
    fields += ['RealMemory=%d' % node['real_memory'], 'State=UNKNOWN']
    return ' '.join(fields)


# The states in which a node takes jobs; sinfo adds a flag to others ('*' not responding).
UP = ('idle', 'mixed', 'allocated', 'completing')


def down_nodes(lines, names):
    """``sinfo --Node --noheader --format=%N|%T|%E`` lines -> a sentence for each of
    ``names`` that does not take jobs: its state and Slurm's reason, or that Slurm does not
    know it. Empty when every node is up."""
    seen = {}
    for line in lines or []:
        name, state, reason = (str(line).split('|', 2) + ['', ''])[:3]
        seen[name] = (state, reason)
    found = []
    for name in names:
        state, reason = seen.get(name, (None, None))
        if state is None:
            found.append('%s is not known to Slurm;' % name)
        elif state not in UP:
            found.append('%s is %s in Slurm%s;' % (name, state, ' ("%s")' % reason if reason not in ('', 'none') else ''))
    return found


# A field of ``scontrol show job --oneliner``: Key=Value, the value up to the next space.
_FIELD = re.compile(r'(?:^|\s)([A-Za-z][A-Za-z:/]*)=(\S*)')
# What the results document keeps of a job, under its own names.
JOB_FIELDS = (('job_id', 'JobId'), ('state', 'JobState'), ('reason', 'Reason'), ('partition', 'Partition'),
              ('nodes', 'NodeList'), ('batch_host', 'BatchHost'), ('exit_code', 'ExitCode'),
              ('time_limit', 'TimeLimit'))


def _fields(text):
    """Key=Value fields of Slurm's one-line records (``scontrol --oneliner``, ``slurmd -C``)."""
    return dict(_FIELD.findall(text if isinstance(text, str) else ''))


def job(text):
    """``scontrol show job --oneliner`` text -> the job's id, state, Slurm's reason, partition,
    node list, batch host, exit code and time limit (None for what it does not say), or
    None when the text names no job (Slurm forgot it, or never had it)."""
    fields = _fields(text)
    if not fields.get('JobId'):
        return None
    found = dict((name, fields.get(key) or None) for name, key in JOB_FIELDS)
    if found['reason'] == 'None':
        found['reason'] = None
    return found
