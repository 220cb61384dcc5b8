# -*- coding: utf-8 -*-
# Copyright: picluster.hpl contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""HPL filters: problem size, process grid, node list, output parsing, TOP500 placement.

Thin wrappers around ``plugins/module_utils``; documentation is in the ``<filter>.yml``
files beside this one.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.picluster.hpl.plugins.plugin_utils.filter_errors import filter_errors
from ansible_collections.picluster.hpl.plugins.module_utils import hpl_dat as hpl_dat_core
from ansible_collections.picluster.hpl.plugins.module_utils import atlas, bench, hpl_output, sizing, top500, tuning


@filter_errors
def hpl_problem_size(nodes, memory_fraction=0.8, nb=None, blas=None, max_n=None,
                     max_seconds=None, expected_gflops=None):
    """Nodes -> N, by the same rules as the hpl_params module."""
    return sizing.hpl_params(nodes, memory_fraction=memory_fraction, nb=nb, blas=blas,
                             max_n=max_n, max_seconds=max_seconds,
                             expected_gflops=expected_gflops)['n']


@filter_errors
def hpl_grid(ranks, shape='square'):
    """Ranks -> [P, Q]."""
    return sizing.hpl_grid(ranks, shape)


@filter_errors
def hpl_nodes(hosts):
    """hostvars of the cluster's hosts -> the nodes list hpl_params takes."""
    return sizing.nodes_from_hostvars(hosts)


@filter_errors
def hpl_parse_output(text):
    """HPL or hpcc output text -> results, summary, errors (and hpcc)."""
    return hpl_output.parse_hpl_output(text)


@filter_errors
def hpl_dat(params, hpcc=False, ptrans_ns=None, ptrans_nbs=None):
    """HPL.dat parameters -> HPL.dat text (hpcc=true: hpccinf.txt)."""
    if hpcc:
        return hpl_dat_core.render_hpccinf(params, ptrans_ns, ptrans_nbs)
    return hpl_dat_core.render_hpl_dat(params)


@filter_errors
def top500_rank(gflops):
    """GFLOPS -> rank on every TOP500 list."""
    return top500.top500_rank(gflops)


@filter_errors
def hpl_tune_step(rows, stage, ranks, n, spent_seconds=0.0, budget_seconds=None, overhead_seconds=0.0):
    """Result rows so far -> what a tuning stage runs next (its HPL.dat parameters)."""
    if stage not in dict(tuning.STAGES):
        raise ValueError('%r is not a tuning stage: %s' % (stage, ', '.join(name for name, _what in tuning.STAGES)))
    return tuning.step(stage, int(ranks), int(n), list(rows or []), float(spent_seconds or 0),
                       None if budget_seconds is None else float(budget_seconds),
                       overhead_seconds=float(overhead_seconds or 0))


@filter_errors
def hpl_tune_result(rows):
    """Result rows -> the best one that passed, and it as the benchmark role's options."""
    winner = tuning.best(list(rows or []))
    return {'winner': winner, 'vars': tuning.tuned_vars(winner) if winner else None}


@filter_errors
def hpl_cluster_id(hosts, hostvars):
    """The cluster's hosts -> what a tuning holds for: the nodes, and the MPI, BLAS (with the
    kernel each node runs) and HPL installed on them."""
    nodes = sorted(hosts)
    facts = [hostvars[name] for name in nodes]

    def each(key, fields):
        return sorted(set(' '.join(str((fact.get(key) or {}).get(field) or '') for field in fields).strip()
                          for fact in facts))
    return {'nodes': nodes, 'mpi': each('mpi_installed', ('name', 'version')),
            'blas': each('blas_installed', ('name', 'version', 'kernel')),
            'hpl': each('hpl_installed', ('method', 'version'))}


@filter_errors
def hpl_bench_plan(what, n=None, ranks=None, row=None, repeats=1, sweep='full', memory_bytes=None):
    """What one run of the side-by-side benchmark runs: its HPL.dat parameters."""
    return bench.plan(what, n, ranks, row, repeats, sweep, memory_bytes)


@filter_errors
def hpl_bench_rounds(plans, repeats=1):
    """``{method: HPL.dat parameters}`` -> ``[[method, parameters], ...]`` in the order the
    side-by-side runs go: every method once a round, each round starting one method later."""
    if not isinstance(plans, dict):
        raise TypeError('expected a mapping of method to its HPL.dat parameters, got %r' % (plans,))
    return bench.rounds(plans, repeats)


@filter_errors
def hpl_bench_table(runs, dgemm_gflops=None, meta=None):
    """The rows each method measured -> the side-by-side benchmark's table and document."""
    if not isinstance(runs, dict):
        raise TypeError('expected a mapping of method to its runs, got %r' % (runs,))
    unknown = sorted(set(runs) - set(bench.METHODS))
    if unknown:
        raise ValueError('%s: not one of %s' % (', '.join(unknown), ', '.join(bench.METHODS)))
    return bench.table(runs, None if dgemm_gflops is None else float(dgemm_gflops), meta)


@filter_errors
def hpl_bench_blas_rounds(names, repeats=1):
    """BLAS names (bench_blas) -> ``[[name, {library, atlas_build}], ...]`` in the order the runs go."""
    return bench.blas_rounds(names, repeats)


@filter_errors
def hpl_bench_blas_table(runs, meta=None):
    """The rows each BLAS measured at one N, NB and grid -> the BLAS comparison's document."""
    if not isinstance(runs, dict) or not set(runs) <= set(bench.BLAS):
        raise TypeError('expected a mapping of BLAS (%s) to its runs, got %r' % (', '.join(bench.BLAS), runs))
    return bench.blas_table(runs, meta)


@filter_errors
def atlas_expected(records, parts):
    """The cache's build records and a node's key parts -> seconds its build should take."""
    if not isinstance(parts, dict):
        raise TypeError('expected the key parts of picluster.hpl.atlas_build (cpu, arch, ...), got %r' % (parts,))
    return atlas.expected_seconds(list(records or []), parts.get('cpu'), parts.get('arch'))


class FilterModule(object):
    def filters(self):
        return {
            'hpl_problem_size': hpl_problem_size,
            'hpl_grid': hpl_grid,
            'hpl_nodes': hpl_nodes,
            'hpl_parse_output': hpl_parse_output,
            'hpl_dat': hpl_dat,
            'top500_rank': top500_rank,
            'hpl_tune_step': hpl_tune_step,
            'hpl_tune_result': hpl_tune_result,
            'hpl_cluster_id': hpl_cluster_id,
            'hpl_bench_plan': hpl_bench_plan,
            'hpl_bench_rounds': hpl_bench_rounds,
            'hpl_bench_table': hpl_bench_table,
            'hpl_bench_blas_rounds': hpl_bench_blas_rounds,
            'hpl_bench_blas_table': hpl_bench_blas_table,
            'atlas_expected': atlas_expected,
        }
