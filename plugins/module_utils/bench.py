# -*- coding: utf-8 -*-
# Copyright: picluster.hpl contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The side-by-side benchmark: ways of choosing HPL's parameters, measured on one machine in
one go at one memory budget, and compared with the best an exhaustive sweep finds.

The methods (``METHODS``): this collection's defaults; the tune playbook's pick; the best
row of the sweep (every NB 32 ... 384 in steps of 32, every P x Q, every broadcast and
look-ahead depth, then every panel and recursive factorisation and stopping width at the
best of those); two published sizing rules (``sizing.published_rules``); and the ceiling,
the node's DGEMM rate. Each method's choice is run ``repeats`` times for a median and a
spread, the sweep's winner too, so that its ratio is not the luck of the best of hundreds of
rows. The runs go in rounds (``rounds``), every method once a round, each round starting one
method later: a machine that slows down for a minute or drifts over ten (a shared host does
both) weighs on every method alike, not on the one that happened to run then.

``plan`` gives HPL.dat parameters for each run; ``table`` turns the measured rows into the
document the bench playbook saves as JSON, with its Markdown table.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import statistics

from ansible_collections.picluster.hpl.plugins.module_utils import hpl_dat, sizing, tuning

METHODS = ('defaults', 'tune', 'sweep_best', 'rule_top500_benchmark', 'rule_sqrt80', 'dgemm')
# The sweep, in full; 'trim' keeps every other NB, the broadcasts HPL's TUNING file
# suggests first (the modified rings and the long one), depths 0 and 1 and the grids with
# P <= Q: a sixth of the tests or fewer, for slow machines.
SWEEPS = {
    'full': {'nbs': list(range(32, 385, 32)), 'bcasts': list(hpl_dat.BCASTS), 'depths': [0, 1, 2]},
    'trim': {'nbs': list(range(64, 385, 64)), 'bcasts': ['1rM', '2rM', 'LnM'], 'depths': [0, 1]},
}
REFINE = {'pfacts': list(hpl_dat.FACTS), 'rfacts': list(hpl_dat.FACTS), 'nbmins': [2, 4, 8]}
# What the targets ask of the defaults and the tune pick (share of the sweep's best),
# and of tuning's time (share of the sweep's).
TARGETS = {'defaults': 0.97, 'tune': 0.98, 'tune_time': 0.20}
# The BLAS bench_blas compares at one N, NB and grid, as the blas role's library and ATLAS build.
BLAS = {
    'openblas': {'library': 'openblas', 'atlas_build': 'package'},
    'blis': {'library': 'blis', 'atlas_build': 'package'},
    'atlas': {'library': 'atlas', 'atlas_build': 'package'},
    'atlas-tuned': {'library': 'atlas', 'atlas_build': 'tuned'},
}
# What a table row shows of the choice it ran.
SHOWN = ('n', 'nb', 'p', 'q', 'tv', 'bcast', 'depth', 'pfact', 'rfact', 'nbmin')


def every_grid(ranks):
    """Every P x Q factorisation of ``ranks``, P > Q included."""
    return [[p, ranks // p] for p in range(1, ranks + 1) if ranks % p == 0]


def plan(what, n=None, ranks=None, row=None, repeats=1, sweep='full', memory_bytes=None):
    """HPL.dat parameters for the bench's runs at problem size ``n``:

    * ``sweep``: the first stage of the exhaustive sweep on ``ranks`` processes (``sweep``
      names the full or trimmed lists), with HPL's usual factorisations;
    * ``refine``: every factorisation and stopping width at ``row``'s other choices;
    * ``repeat``: ``row``'s choices (a result row, the tune role's vars, or ``{'nb', 'p',
      'q'}`` alone for the role's defaults otherwise), ``n`` listed ``repeats`` times;
    * ``rules``: ``{method: parameters}`` for each published rule at ``memory_bytes`` on
      ``ranks`` processes, repeated likewise (each rule sets its own N).
    """
    if what == 'rules':
        chosen = sizing.published_rules(memory_bytes, ranks)
        return dict((method, plan('repeat', rule['n'], row=rule, repeats=repeats)) for method, rule in chosen.items())
    n = sizing._positive_int(n, 'n', sizing.MOST['n'])
    if what == 'sweep':
        if sweep not in SWEEPS:
            raise sizing.HplInputError("sweep must be one of %s, got %r" % (', '.join(sorted(SWEEPS)), sweep))
        ranks = sizing._positive_int(ranks, 'ranks', sizing.MOST['cores'] * 4096)
        grids = every_grid(ranks) if sweep == 'full' else tuning.grids(ranks)
        if len(grids) > hpl_dat.MAX_LIST:
            raise sizing.HplInputError("%d ranks have %d grids, more than the %d HPL runs at once: use "
                                       "bench_sweep=trim (grids with P <= Q)" % (ranks, len(grids), hpl_dat.MAX_LIST))
        return dict(_params([n], tuning.START), grids=grids, **SWEEPS[sweep])
    if isinstance(row, dict) and 'benchmark_nb' in row:
        row = tuning.vars_settings(row)
    if not isinstance(row, dict) or not all(key in row for key in ('nb', 'p', 'q')):
        raise sizing.HplInputError("%s needs a row with nb, p and q, got %r" % (what, row))
    if what == 'refine':
        return dict(_params([n], dict(tuning.START, **tuning.settings(row))), **REFINE)
    if what == 'repeat':
        ns = [n] * sizing._positive_int(repeats, 'repeats', sizing.MOST['repeats'])
        if all(key in row for key in tuning.START):
            return _params(ns, tuning.settings(row))
        return {'ns': ns, 'nbs': [row['nb']], 'grids': [[row['p'], row['q']]]}
    raise sizing.HplInputError("what must be sweep, refine, repeat or rules, got %r" % (what,))


def rounds(plans, repeats, known=METHODS):
    """``[[method, parameters], ...]``: ``repeats`` rounds of every method of ``plans``
    (``{method: HPL.dat parameters}``), in ``known``'s order rotated by one each round."""
    methods = [method for method in known if method in plans]
    unknown = sorted(set(plans) - set(methods))
    if unknown:
        raise sizing.HplInputError("%s: not one of %s" % (', '.join(unknown), ', '.join(known)))
    order = []
    for count in range(sizing._positive_int(repeats, 'repeats', sizing.MOST['repeats'])):
        shift = count % len(methods) if methods else 0
        order += [[method, plans[method]] for method in methods[shift:] + methods[:shift]]
    return order


def blas_rounds(names, repeats):
    """``[[name, {'library', 'atlas_build'}], ...]``: ``repeats`` rounds of every BLAS of ``names``
    (of ``BLAS``, in the order given), rotated by one each round, as ``rounds``."""
    if not isinstance(names, list) or not names or not all(isinstance(name, str) for name in names):
        raise sizing.HplInputError("bench_blas must list BLAS to compare, of %s, got %r" % (', '.join(BLAS), names))
    unknown = [name for name in names if name not in BLAS]
    if unknown or len(set(names)) != len(names):
        raise sizing.HplInputError("bench_blas lists each of %s once, got %s" % (', '.join(BLAS), ', '.join(names)))
    return rounds(dict((name, BLAS[name]) for name in names), repeats, known=names)


def blas_table(runs, meta=None):
    """The BLAS comparison's document: ``runs`` maps a name of ``BLAS`` to ``{'rows': [result
    rows], 'wall_s': seconds, 'blas': the run's BLAS as its results document records it}``,
    every BLAS run at the same N, NB and grid. Each row's ratios are to the BLAS with the
    best median: of medians, and the median of each round's ratio (``paired_ratio``)."""
    rows = []
    for name, run in runs.items():
        row = dict(_row(name, run), blas=name)
        del row['method']
        row.update(_blas_shown(run.get('blas') or {}))
        rows.append(row)
    rated = [row for row in rows if row['gflops_median'] is not None]
    top = max(rated, key=lambda row: row['gflops_median']) if rated else {'blas': None, 'gflops_median': None}
    best = top['blas']
    for row in rows:
        row['ratio_to_best'] = _ratio(row['gflops_median'], top['gflops_median'])
        row['ratio_paired'] = paired_ratio(runs[row['blas']].get('rows'), runs[best].get('rows')) if best else None
    document = dict(meta or {}, rows=rows, best=best)
    document['markdown'] = blas_markdown(document)
    return document


def _blas_shown(blas):
    """What a row shows of the BLAS that ran: library, version, kernel, and for ATLAS which build."""
    build = blas.get('build') or {}
    return {'library': blas.get('name'), 'version': blas.get('version'), 'kernel': blas.get('kernel'),
            'atlas_build': build.get('kind'), 'atlas_key': build.get('key'), 'atlas_built': build.get('built')}


def blas_markdown(document):
    """The BLAS comparison as a Markdown table."""
    lines = ['| BLAS | library | kernel | GFLOPS median | min | max | × best | same round | N | NB | P × Q | wall s |',
             '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |']
    for row in document['rows']:
        library = ' '.join(str(row[key]) for key in ('library', 'version') if row.get(key))
        if row.get('atlas_build') == 'tuned':
            library += ' (tuned %s)' % (row.get('atlas_built') or '')
        grid = '%s × %s' % (row['p'], row['q']) if row.get('p') else ''
        cells = [row['blas'], library, row.get('kernel') or '']
        cells += [_cell(row[key], '%.2f') for key in ('gflops_median', 'gflops_min', 'gflops_max')]
        cells += [_cell(row.get(key), '%.3f') for key in ('ratio_to_best', 'ratio_paired')]
        cells += [_cell(row.get('n'), '%d'), _cell(row.get('nb'), '%d'), grid, _cell(row.get('wall_s'), '%.0f')]
        lines.append('| %s |' % ' | '.join(cells))
    return '\n'.join(lines) + '\n'


def _params(ns, at):
    return {'ns': ns, 'nbs': [at['nb']], 'grids': [[at['p'], at['q']]], 'bcasts': [at['bcast']],
            'depths': [at['depth']], 'pfacts': [at['pfact']], 'rfacts': [at['rfact']], 'nbmins': [at['nbmin']],
            'ndivs': [at['ndiv']]}


def spread(rows):
    """Median, least and most GFLOPS of the rows whose residual passed, and how many ran."""
    rates = sorted(row['gflops'] for row in rows if row.get('status') == 'passed' and row.get('gflops'))
    return {'gflops_median': _median(rates), 'gflops_min': _round(rates[0] if rates else None),
            'gflops_max': _round(rates[-1] if rates else None), 'runs': len(rows), 'passed': len(rates)}


def paired_ratio(rows, reference):
    """The median over rounds of a method's rate over the sweep winner's in the same round
    (each row's ``round``; without one, row k of each is taken for round k): a slow minute
    of the machine then slows both sides of a ratio, where the ratio of two medians can
    take them from different rounds."""
    def by_round(found):
        found = found or []
        keyed = all('round' in row for row in found)
        return dict((row['round'] if keyed else index, row.get('gflops')) for index, row in enumerate(found)
                    if row.get('status') == 'passed' and row.get('gflops'))
    mine, theirs = by_round(rows), by_round(reference)
    pairs = [mine[key] / theirs[key] for key in mine if key in theirs]
    return round(statistics.median(pairs), 4) if pairs else None


def table(runs, dgemm_gflops=None, meta=None):
    """The bench document from what was measured.

    ``runs`` maps a method of ``METHODS`` to ``{'rows': [result rows], 'wall_s': seconds}``
    (and for ``tune`` and ``sweep_best``, ``search_wall_s`` and ``search_tests``: what
    finding the choice took). ``dgemm_gflops`` is the node's DGEMM rate with every core.
    ``ratio_to_sweep_best`` is of medians, ``ratio_paired`` the median of each round's
    ratio (``paired_ratio``), which ``checks`` judges by when there is one.
    """
    rows = [_row(method, runs[method]) for method in METHODS if method in runs and method != 'dgemm']
    if dgemm_gflops:
        rows.append(dict(_empty('dgemm'), gflops_median=_round(dgemm_gflops), gflops_min=_round(dgemm_gflops),
                         gflops_max=_round(dgemm_gflops)))
    by_method = dict((row['method'], row) for row in rows)
    ceiling = (by_method.get('sweep_best') or {}).get('gflops_median')
    for row in rows:
        row['ratio_to_sweep_best'] = _ratio(row['gflops_median'], ceiling)
        row['ratio_paired'] = paired_ratio(runs.get(row['method'], {}).get('rows'), runs.get('sweep_best', {}).get('rows'))
        row['ratio_to_dgemm'] = _ratio(row['gflops_median'], dgemm_gflops)
    tune, sweep = runs.get('tune', {}), runs.get('sweep_best', {})
    document = dict(meta or {})
    document.update({
        'rows': rows,
        'tune_wall_s': _round(tune.get('search_wall_s'), 1), 'tune_tests': tune.get('search_tests'),
        'sweep_wall_s': _round(sweep.get('search_wall_s'), 1), 'sweep_tests': sweep.get('search_tests'),
        'tune_time_ratio': _ratio(tune.get('search_wall_s'), sweep.get('search_wall_s')),
    })
    document['checks'] = checks(document)
    document['markdown'] = markdown(document)
    return document


def checks(document):
    """Each target, and whether this run met it (None when a method did not run)."""
    by_method = dict((row['method'], row) for row in document['rows'])

    def ratio(method):
        row = by_method.get(method) or {}
        return row['ratio_paired'] if row.get('ratio_paired') is not None else row.get('ratio_to_sweep_best')

    def ahead(method):
        mine = (by_method.get(method) or {}).get('gflops_median')
        others = [(by_method.get(rule) or {}).get('gflops_median') for rule in ('rule_top500_benchmark', 'rule_sqrt80')]
        if mine is None or None in others:
            return None
        return mine > max(others)

    def at_least(value, target):
        return None if value is None else value >= target

    share = document.get('tune_time_ratio')
    return {
        'defaults_within_target': at_least(ratio('defaults'), TARGETS['defaults']),
        'tune_within_target': at_least(ratio('tune'), TARGETS['tune']),
        'tune_time_within_target': None if share is None else share <= TARGETS['tune_time'],
        'defaults_ahead_of_rules': ahead('defaults'),
        'tune_ahead_of_rules': ahead('tune'),
    }


def _row(method, run):
    measured = run.get('rows') or []
    row = _empty(method)
    row.update(spread(measured))
    first = tuning.best(measured) or (measured[0] if measured else None)
    if first:
        row.update((key, first.get(key)) for key in SHOWN)
        row['memory_bytes'] = sizing.BYTES_PER_ELEMENT * first['n'] ** 2
        passed = [r for r in measured if r.get('status') == 'passed' and r.get('time_s') is not None]
        row['time_s_median'] = _median([r['time_s'] for r in passed])
    row['wall_s'] = _round(run.get('wall_s'), 1)
    return row


def _empty(method):
    return {'method': method, 'gflops_median': None, 'gflops_min': None, 'gflops_max': None, 'runs': 0,
            'passed': 0, 'n': None, 'nb': None, 'p': None, 'q': None, 'tv': None, 'memory_bytes': None,
            'time_s_median': None, 'wall_s': None}


def markdown(document):
    """The document's table as Markdown, with what the search took and the targets."""
    lines = ['| method | GFLOPS median | min | max | × sweep best | same round | × DGEMM | N | NB | P × Q '
             '| variant | memory MiB | wall s |',
             '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: | ---: |']
    for row in document['rows']:
        variant = ' '.join(str(row.get(key)) for key in ('tv', 'bcast', 'depth') if row.get(key) is not None)
        grid = '%s × %s' % (row['p'], row['q']) if row.get('p') else ''
        memory = row['memory_bytes'] / 2.0 ** 20 if row.get('memory_bytes') else None
        cells = [row['method']] + [_cell(row[key], '%.2f') for key in ('gflops_median', 'gflops_min', 'gflops_max')]
        cells += [_cell(row.get(key), '%.3f') for key in ('ratio_to_sweep_best', 'ratio_paired', 'ratio_to_dgemm')]
        cells += [_cell(row.get('n'), '%d'), _cell(row.get('nb'), '%d'), grid, variant, _cell(memory, '%.0f'),
                  _cell(row.get('wall_s'), '%.0f')]
        lines.append('| %s |' % ' | '.join(cells))
    lines.append('')
    if document.get('sweep_wall_s') is not None and document.get('tune_wall_s') is not None:
        lines.append('Tuning took %.0f s (%s tests), the sweep %.0f s (%s tests): %.0f %% of its time.' % (
            document['tune_wall_s'], document.get('tune_tests'), document['sweep_wall_s'],
            document.get('sweep_tests'), 100 * (document.get('tune_time_ratio') or 0)))
    held = [name for name, value in sorted(document.get('checks', {}).items()) if value is True]
    missed = [name for name, value in sorted(document.get('checks', {}).items()) if value is False]
    lines.append('Targets met: %s. Missed: %s.' % (', '.join(held) or 'none', ', '.join(missed) or 'none'))
    return '\n'.join(lines) + '\n'


def _cell(value, form):
    return '' if value is None else form % value


def _median(values):
    values = sorted(values)
    middle = len(values) // 2
    if not values:
        return None
    return _round(values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2.0)


def _ratio(value, reference):
    if value is None or not reference:
        return None
    return round(float(value) / float(reference), 4)


def _round(value, digits=3):
    return None if value is None else round(float(value), digits)
