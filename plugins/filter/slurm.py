# -*- coding: utf-8 -*-
# Copyright: picluster.hpl contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Slurm filters: the cluster's nodes as Slurm sees them, and the text of slurm.conf.

Thin wrappers around ``plugins/module_utils/slurm.py``; documentation is in the
``<filter>.yml`` files beside this one.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.picluster.hpl.plugins.plugin_utils.filter_errors import filter_errors
from ansible_collections.picluster.hpl.plugins.module_utils import slurm as core


@filter_errors
def slurm_nodes(hosts, hardware=None):
    """hostvars of the cluster's hosts (and what slurmd -C printed on each) -> the nodes of slurm.conf."""
    return core.slurm_nodes(hosts, hardware)


@filter_errors
def slurm_conf(nodes, controller, cluster='picluster', partition='cluster', cgroup=True, bind=True):
    """slurm_nodes' nodes and the controller's -> the text of slurm.conf."""
    return core.slurm_conf(nodes, controller, cluster=cluster, partition=partition, cgroup=cgroup, bind=bind)


@filter_errors
def slurm_down(lines, names):
    """sinfo's lines and the node names -> a sentence for each node that does not take jobs."""
    return core.down_nodes(lines, names)


@filter_errors
def slurm_job(text):
    """scontrol show job --oneliner text -> the job's record, or None."""
    return core.job(text)


class FilterModule(object):
    def filters(self):
        return {
            'slurm_nodes': slurm_nodes,
            'slurm_conf': slurm_conf,
            'slurm_down': slurm_down,
            'slurm_job': slurm_job,
        }
