# -*- coding: utf-8 -*-
# Copyright: picluster.hpl contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The results document: one JSON object per benchmark run.

Built from the run record the benchmark sets as the ``picluster_hpl_run`` fact and the
facts of every node that took part; the ``hpl_results`` callback writes it. The shape is
fixed by ``schemas/hpl_results.schema.json``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import math
import os
import re
import statistics

from ansible_collections.picluster.hpl.plugins.module_utils import conditions, hpl_dat, hpl_output, peaks, progress, slurm, top500
from ansible_collections.picluster.hpl.plugins.module_utils.files import atomic_write

SCHEMA_VERSION = 1
# A node whose rate alone is below this share of the median of the nodes alone is named as
# weak: a bad heatsink, a weak supply, a mis-set governor. Two healthy boards of one model
# differ by a few per cent.
WEAK_NODE_SHARE = 0.9


def node_from_facts(name, facts):
    """The node entry of a results document from a host's gathered facts.

    ``facts`` holds setup's ``ansible_*`` facts and/or the ``picluster_hpl_node`` fact.
    """
    facts = facts or {}
    node = facts.get('picluster_hpl_node') or {}

    def fact(key):
        return facts.get('ansible_' + key, facts.get(key))

    distribution = ' '.join(str(v) for v in (fact('distribution'), fact('distribution_version')) if v)
    kernel = _blas_kernel(facts.get('picluster_hpl_blas'))
    peak = peaks.at_least(node.get('peak'), fastest_dgemm(facts.get('picluster_hpl_blas')))
    return {
        'name': name,
        'model': node.get('model') or fact('product_name'),
        'arch': fact('architecture'),
        'cores': node.get('cores') or fact('processor_vcpus'),
        'memory_mb': node.get('memory_mb') or fact('memtotal_mb'),
        'os': distribution or None,
        'kernel': fact('kernel'),
        'boot_medium': node.get('boot_medium'),
        'overclocks': node.get('overclocks') or {},
        'peak_gflops_per_core': (peak or {}).get('gflops'),
        'peak_source': (peak or {}).get('source'),
        'peak': peak,
        'blas_kernel': kernel,
    }


def fastest_dgemm(fact):
    """The fastest one-core DGEMM measured on the node, by any kernel (the one kept, the
    library's own, those compared): no clock is slower than the fastest implies."""
    fact = fact or {}
    rates = [fact.get('dgemm_gflops'), fact.get('library_dgemm_gflops')]
    rates += [probe.get('dgemm_gflops') for probe in (fact.get('probes') or {}).values() if isinstance(probe, dict)]
    rates = [rate for rate in rates if isinstance(rate, (int, float)) and not isinstance(rate, bool) and rate > 0]
    return max(rates) if rates else None


def _blas_kernel(fact):
    """What the node entry keeps of the picluster_hpl_blas fact (picluster.hpl.blas_kernel)."""
    if not fact:
        return None
    keep = ('name', 'kernel', 'source', 'library_kernel', 'reason', 'dgemm_gflops', 'emulated', 'decided', 'build')
    return dict((key, fact.get(key)) for key in keep)


def build_document(run, nodes, now=None):
    """The results document for one run.

    ``run`` is the ``picluster_hpl_run`` record (``output`` required; ``hosts``, ``hpl_dat``
    (the parameters, or the input file's text), ``mpi``, ``blas``, ``hpl``, ``sizing``,
    ``command``, ``rc``, ``started``, ``finished``, ``rpeak_gflops``, ``tuning`` (the tune
    playbook's search, kept as it is given), ``conditions`` (each node's sampler report),
    ``power_watts``, ``per_node`` (each node's output alone) and ``per_node_seconds``
    optional); ``nodes``
    maps host name to its node entry.
    """
    if not isinstance(run, dict) or not isinstance(run.get('output'), str):
        raise ValueError("the picluster_hpl_run record needs the run's output text in 'output'")
    now = now or datetime.datetime.now(datetime.timezone.utc)
    parsed = hpl_output.parse_hpl_output(run['output'])
    entries = _entries(run, nodes)
    best = parsed['best']
    rpeak, rpeak_source = _rpeak(run, entries)
    dgemm, dgemm_source = cluster_dgemm(run, parsed.get('hpcc'), entries)
    document = {
        'schema_version': SCHEMA_VERSION,
        'id': '%s-%s' % (now.strftime('%Y%m%dT%H%M%SZ'), _slug(run.get('head') or (entries[0]['name'] if entries else 'run'))),
        'generated_at': now.isoformat(),
        'run': dict((key, run.get(key)) for key in ('started', 'finished', 'command', 'rc', 'head', 'directory')),
        'boot_medium': boot_medium(entries),
        'nodes': entries,
        'mpi': run.get('mpi'),
        'blas': run.get('blas'),
        'hpl': run.get('hpl'),
        'hpl_dat': _hpl_dat(run.get('hpl_dat')),
        'sizing': _sizing(run.get('sizing')),
        'rpeak_gflops': rpeak,
        'rpeak_source': rpeak_source,
        'efficiency': peaks.efficiency(best['gflops'], rpeak) if best else None,
        'dgemm_gflops': dgemm,
        'dgemm_source': dgemm_source,
        'efficiency_vs_dgemm': peaks.efficiency(best['gflops'], dgemm) if best else None,
        'warnings': slow_blas(entries),
        'top500': top500.top500_rank(best['gflops']) if best else None,
    }
    document.update((key, parsed[key]) for key in ('status', 'results', 'summary', 'best'))
    if run.get('slurm') is not None:
        # The job Slurm ran it as (the benchmark's launcher slurm): None when Slurm forgot it.
        document['slurm'] = slurm.job(run['slurm'])
    document['faults'] = parsed['faults'] + run_faults(run, parsed['faults'])
    document['reason'] = hpl_output.main_reason(document['faults'])
    document['errors'] = [fault['message'] for fault in document['faults']]
    if 'hpcc' in parsed:
        document['hpcc'] = parsed['hpcc']
    if run.get('tuning'):
        document['tuning'] = run['tuning']
    if run.get('per_node'):
        document['per_node'] = per_node(run['per_node'], run.get('per_node_seconds'))
    if run.get('conditions') is not None or run.get('power_watts'):
        document['conditions'] = conditions.summarise(run.get('conditions'), run.get('power_watts'),
                                                      best['gflops'] if best else None)
    # The text itself, so that a result can be checked or parsed again later.
    # HPL 2.3's progress report (a line per panel) is for watching a run, not for keeping.
    document['output'] = progress.without_reports(run['output'])
    return document


def run_faults(run, faults):
    """What the launch says beyond the text: nodes lost (``run['lost']``, the hosts that
    became unreachable while it ran), a run stopped at the time limit (``run['message']``
    is the async job's), or mpirun's non-zero exit that nothing else explains."""
    found = []
    # mpirun names a node by its hostfile address, the play by its inventory name.
    named = ' '.join(fault['message'] for fault in faults if fault['reason'] == 'daemon_lost')
    addresses = dict((node.get('name'), node.get('address')) for node in (run.get('sizing') or {}).get('nodes') or []
                     if isinstance(node, dict))
    lost = sorted(name for name in run.get('lost') or []
                  if not any('node %s ' % known in named for known in (name, addresses.get(name)) if known))
    if lost:
        found.append({'reason': 'daemon_lost', 'message': "lost %s during the run: check that %s up, powered and "
                      "on the network" % (', '.join(lost), 'it is' if len(lost) == 1 else 'they are')})
    if run.get('message') == 'Timeout exceeded':
        found.append({'reason': 'timeout', 'message': "the run was stopped at benchmark_timeout: raise it, "
                      "or ask for a smaller N (benchmark_memory_fraction, benchmark_max_seconds)"})
    found += _job_faults(slurm.job(run.get('slurm')), faults + found)
    rc = run.get('rc')
    if rc not in (None, 0, '0', '') and not faults and not found:
        launcher = 'the Slurm job' if str(run.get('command') or '').startswith('sbatch') else 'mpirun'
        found.append({'reason': 'mpirun_failed', 'message': "%s exited with %s: see its output" % (launcher, rc)})
    return found


def _job_faults(job, faults):
    """The fault a Slurm job's end stands for, unless one of its reason is known already."""
    # The end of a Slurm job that the output may not show (Slurm's own line can be lost with
    # the node that would have written it).
    reason, message = hpl_output.SLURM_JOB_ENDS.get((job or {}).get('state'), (None, None))
    if reason is None or any(fault['reason'] == reason for fault in faults):
        return []
    return [{'reason': reason, 'message': message.format(job['job_id'])}]


def per_node(outputs, seconds=None):
    """Each node's run alone (``{name: HPL output}``) -> the document's ``per_node``: every
    node's best row, the median rate, and the nodes below ``WEAK_NODE_SHARE`` of it or
    without a result (``weak``)."""
    nodes = []
    for name, text in sorted(outputs.items()):
        parsed = hpl_output.parse_hpl_output(text or '')
        best = parsed['best'] or {}
        entry = dict((key, best.get(key)) for key in ('n', 'nb', 'p', 'q', 'time_s', 'gflops'))
        entry.update(name=name, status=parsed['status'], reason=parsed['reason'], errors=parsed['errors'])
        nodes.append(entry)
    rates = [entry['gflops'] for entry in nodes if entry['status'] == 'passed' and entry['gflops']]
    median = statistics.median(rates) if rates else None
    weak = [entry['name'] for entry in nodes if entry['status'] != 'passed' or not entry['gflops']
            or entry['gflops'] < WEAK_NODE_SHARE * median]
    return {'nodes': nodes, 'median_gflops': round(median, 4) if median else None, 'weak': weak,
            'weak_below': WEAK_NODE_SHARE, 'seconds': seconds}


def run_document(run, host, facts_of):
    """The document for a ``picluster_hpl_run`` record set on ``host``: its head defaults to
    that host, its hosts to the head, and each node's entry comes from ``facts_of(name)``."""
    run = dict(run)
    run.setdefault('head', host)
    run['hosts'] = list(run.get('hosts') or [run['head']])
    return build_document(run, dict((name, node_from_facts(name, facts_of(name))) for name in run['hosts']))


def _entries(run, nodes):
    """The node entries of the run's hosts, each with the ranks it ran."""
    ranks = _ranks_per_host(run.get('sizing') or {})
    entries = []
    for name in run.get('hosts') or sorted(nodes):
        entry = dict(nodes.get(name) or node_from_facts(name, {}))
        entry['ranks'] = ranks.get(name, entry.get('cores'))
        entries.append(entry)
    return entries


def _rpeak(run, entries):
    """(Rpeak in GFLOPS, where it came from): the run's override, else the nodes' peaks."""
    if run.get('rpeak_gflops') is not None:
        return given_gflops(run['rpeak_gflops'], 'rpeak_gflops'), 'override'
    if not entries:
        return None, None
    rpeak = peaks.cluster_rpeak([{'name': e['name'], 'ranks': e.get('ranks') or 0,
                                  'peak': dict(e.get('peak') or {}, gflops=e.get('peak_gflops_per_core'))}
                                 for e in entries])
    return rpeak, 'nodes' if rpeak else None


def _hpl_dat(given):
    """The run's HPL.dat parameters: from the parameters themselves, else read from the text."""
    try:
        if isinstance(given, dict):
            return hpl_dat.normalise(given)
        return hpl_dat.parse_hpl_dat(given) if given else None
    except (hpl_dat.HplDatError, IndexError, ValueError):
        return None


def boot_medium(entries):
    """The cluster's boot medium: the nodes' own when they agree, ``mixed`` when they
    don't, None when unknown - so a PXE-versus-SD comparison is one query over results."""
    media = set(entry.get('boot_medium') for entry in entries) - set([None])
    return (media.pop() if len(media) == 1 else 'mixed') if media else None


def write_document(directory, document, encoder=None):
    """Write ``document`` as ``<directory>/hpl-<id>.json`` (created if missing, mode 0644) and
    return the path. Atomic: a reader sees the whole file or none; two runs in one second keep
    both. Always valid JSON: a NaN or infinite number is written as null, and said so."""
    directory = os.path.abspath(os.path.expanduser(directory))
    path = os.path.join(directory, 'hpl-%s.json' % document['id'])
    suffix = 1
    while os.path.exists(path):
        suffix += 1
        path = os.path.join(directory, 'hpl-%s-%d.json' % (document['id'], suffix))
    try:
        text = json.dumps(document, cls=encoder, indent=2, sort_keys=True, allow_nan=False) + '\n'
    except ValueError:
        # JSON has no NaN or infinity: such a number is written as null, and the document says so.
        document = dict(_finite(document), errors=list(document.get('errors') or []) + [
            'numbers that were not finite (NaN or infinite) are written as null'])
        text = json.dumps(document, cls=encoder, indent=2, sort_keys=True, allow_nan=False) + '\n'
    # Readable like any report (it holds no secret); written by its owner only.
    atomic_write(path, text.encode('utf-8'), mode=0o644)
    return path


def _finite(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return dict((key, _finite(item)) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


def headline(document):
    """One line for the console: GFLOPS, check, efficiency, TOP500."""
    best = document.get('best')
    if not best:
        return "HPL run %s: no result, %s (%s)" % (document['id'], document.get('reason') or document['status'],
                                                   '; '.join(document['errors']) or document['status'])
    spoiled = (document.get('conditions') or {}).get('tainted')
    reason = document.get('reason')
    told = reason in (None, hpl_output.status_reason(document['status']))
    text = "HPL %s%s%s: %.2f GFLOPS (%s N=%d NB=%d P=%d Q=%d, %.1f s), residual %s" % (
        document['status'].upper(), '' if told else ' (%s)' % reason,
        ', TAINTED (%s)' % '; '.join(spoiled) if spoiled else '', best['gflops'],
        best['tv'], best['n'], best['nb'], best['p'], best['q'], best['time_s'], best['status'])
    if document['efficiency'] is not None:
        text += ", %.1f%% of Rpeak %.1f GFLOPS" % (100 * document['efficiency'], document['rpeak_gflops'])
    else:
        text += ", Rpeak unknown (%s)" % _no_peak(document)
    if document.get('efficiency_vs_dgemm') is not None:
        text += ", %.1f%% of DGEMM %.1f GFLOPS" % (100 * document['efficiency_vs_dgemm'], document['dgemm_gflops'])
    text += _blas_text(document)
    text += _per_node_text(document.get('per_node'))
    if (document.get('conditions') or {}).get('gflops_per_watt'):
        text += ", %.3f GFLOPS per watt at %g W" % (document['conditions']['gflops_per_watt'],
                                                    document['conditions']['power_watts'])
    return ' '.join([text + ".", document['top500']['summary']] + document.get('warnings', []))


def _per_node_text(solo):
    """", alone: pi1 6.10, pi2 6.05, pi3 4.90 GFLOPS; pi3 19 % below the median (...)"."""
    if not solo:
        return ''
    rates = ['%s %s' % (node['name'], '%.2f' % node['gflops'] if node['gflops'] else node['status'])
             for node in solo['nodes']]
    text = ', alone: %s GFLOPS' % ', '.join(rates)
    for name in solo['weak']:
        node = [entry for entry in solo['nodes'] if entry['name'] == name][0]
        below = '%.0f %% below' % (100 * (1 - node['gflops'] / solo['median_gflops'])) if node['gflops'] else 'no result,'
        text += '; %s %s the median (check its cooling, power supply, governor and BLAS)' % (name, below)
    return text


def _blas_text(document):
    """", OpenBLAS 0.3.21 kernel Haswell (node environment)", from the head node's record."""
    blas = document.get('blas') or {}
    if not blas.get('name'):
        return ''
    kernel = ' kernel %s (%s)' % (blas['kernel'], blas.get('kernel_source')) if blas.get('kernel') else ''
    return ', %s %s%s' % (blas['name'], blas.get('version') or '', kernel)


def _no_peak(document):
    """Why the run has no Rpeak, from the first node without one."""
    for node in document.get('nodes') or []:
        peak = node.get('peak') or {}
        if peak.get('gflops') is None and peak.get('source') == 'emulated':
            return '%s: emulated, its CPU is the host\'s' % node['name']
        if peak.get('gflops') is None and peak.get('explain'):
            return '%s: %s' % (node['name'], peak['explain'])
    return 'set benchmark_rpeak_gflops_per_core'


def given_gflops(value, what):
    """A rate given in the run record, checked: a positive, finite number of GFLOPS below an
    exaflop's thousandfold (a typo, not a cluster)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = None
    if isinstance(value, bool) or number is None or not math.isfinite(number) or not 0 < number < 1e12:
        raise ValueError('%s must be a positive number of GFLOPS (below 1e12), got %r' % (what, value))
    return number


def cluster_dgemm(run, hpcc, entries=()):
    """(DGEMM rate of all ranks at once, where it came from): given in the run, else hpcc's
    StarDGEMM x processes, else each node's one-core DGEMM x its ranks; (None, None).

    hpcc's StarDGEMM runs DGEMM on every process simultaneously and reports the average
    per process, so the cluster's rate is that times the number of processes.
    """
    if run.get('dgemm_gflops') is not None:
        return round(given_gflops(run['dgemm_gflops'], 'dgemm_gflops'), 4), 'given'
    hpcc = hpcc or {}
    per_process, processes = hpcc.get('StarDGEMM_Gflops'), hpcc.get('CommWorldProcs')
    if isinstance(per_process, (int, float)) and isinstance(processes, int) and per_process > 0:
        return round(per_process * processes, 4), 'hpcc'
    rates = [((entry.get('blas_kernel') or {}).get('dgemm_gflops'), entry.get('ranks')) for entry in entries]
    if rates and all(rate and ranks is not None for rate, ranks in rates) and sum(r for dummy, r in rates):
        return round(sum(rate * ranks for rate, ranks in rates), 4), 'nodes'
    return None, None


# A BLAS whose DGEMM reaches less than this share of the peak is named as the reason for a
# low efficiency (OpenBLAS's SSE3 fallback on an AVX-512 core reaches about a fifth).
SLOW_BLAS = 0.5


def slow_blas(entries):
    """For each node whose one-core DGEMM is far below its peak: why, and what to try."""
    warnings = []
    for entry in entries:
        kernel, peak = entry.get('blas_kernel') or {}, (entry.get('peak') or {}).get('gflops')
        rate = kernel.get('dgemm_gflops')
        if not rate or not peak or rate >= SLOW_BLAS * peak:
            continue
        variable, option = (('BLIS_ARCH_TYPE', 'blas_blis_arch') if kernel.get('name') == 'blis'
                            else ('OPENBLAS_CORETYPE', 'blas_openblas_coretype'))
        if kernel.get('source') == 'node environment':
            advice = ('the node sets %s itself: if that is not needed for this CPU, remove it and let %s=auto '
                      'choose' % (variable, option))
        elif kernel.get('source') == 'forced':
            advice = '%s forces it: try auto' % option
        else:
            advice = ('no faster kernel was found in this library: try another BLAS (blas_library=blis) or a newer '
                      'OpenBLAS, and check that the CPU is not throttled')
        warnings.append('%s: DGEMM %.1f GFLOPS on one core is %.0f%% of its peak %.1f, with the %s kernel (%s); %s.'
                        % (entry['name'], rate, 100.0 * rate / peak, peak, kernel.get('kernel'),
                           kernel.get('source'), advice))
    return warnings


def _ranks_per_host(sizing):
    return dict((n['name'], n['ranks']) for n in sizing.get('nodes') or [] if 'name' in n and 'ranks' in n)


def _sizing(sizing):
    if not sizing:
        return None
    keep = ('n', 'nb', 'p', 'q', 'ranks', 'grid_shape', 'memory_fraction', 'bounding_node',
            'memory_per_rank_bytes', 'matrix_bytes', 'limited_by', 'nodes')
    return dict((key, sizing.get(key)) for key in keep if key in sizing)


def _slug(text):
    return re.sub(r'[^A-Za-z0-9_.-]+', '-', str(text)).strip('-') or 'run'
