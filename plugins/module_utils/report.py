# -*- coding: utf-8 -*-
# Copyright: picluster.hpl contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report of a results directory: every run's rows as one table, a short summary that
pastes into an issue or a forum post, and what differs between two runs.

Reads the documents the benchmark writes (``hpl-*.json``, one per run) and the side-by-side
benchmark's tables (``bench/bench-*.json``). Pure Python, for the controller or for anyone
who copied the JSON files off a cluster. A run whose conditions say it is tainted is marked
as such in every view and never counted as the best.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import csv
import glob
import io
import json
import os

from ansible_collections.picluster.hpl.plugins.module_utils import report_html
from ansible_collections.picluster.hpl.plugins.module_utils.files import atomic_write
from ansible_collections.picluster.hpl.plugins.module_utils.conditions import throttled_during
from ansible_collections.picluster.hpl.plugins.module_utils.peaks import efficiency

# One row per HPL result row: the run's fields first, then the row's.
RUN_FIELDS = ['run_id', 'generated_at', 'cluster', 'nodes', 'boot_medium', 'mpi', 'blas', 'blas_kernels', 'hpl',
              'rpeak_gflops', 'dgemm_gflops', 'run_status', 'tainted', 'governors', 'freq_mhz_min', 'temp_c_max',
              'throttled', 'other_cores_max', 'power_watts', 'gflops_per_watt']
ROW_FIELDS = ['n', 'nb', 'p', 'q', 'tv', 'pfact', 'nbmin', 'ndiv', 'rfact', 'bcast', 'depth', 'time_s', 'gflops',
              'residual', 'status', 'efficiency', 'efficiency_vs_dgemm']
CSV_FIELDS = RUN_FIELDS + ROW_FIELDS


class ReportError(ValueError):
    """A results directory that holds nothing to report, or a run that is not there."""


def load(directory):
    """The run documents (oldest first) and bench tables of ``directory``, and the files
    that could not be read, each with why."""
    if not os.path.isdir(directory):
        raise ReportError('%s is not a directory: give the results directory (results/ by default)' % directory)
    problems = []

    def read(pattern, wanted):
        found = []
        for path in sorted(glob.glob(os.path.join(directory, pattern))):
            try:
                with open(path) as handle:
                    document = json.load(handle)
            except (OSError, ValueError) as error:
                problems.append({'path': path, 'reason': str(error)})
                continue
            if not isinstance(document, dict) or wanted not in document:
                problems.append({'path': path, 'reason': 'not a picluster.hpl document (no %r)' % wanted})
                continue
            found.append(dict(document, path=path))
        return found

    runs = sorted(read('hpl-*.json', 'results'), key=lambda doc: ('%s' % (doc.get('generated_at') or ''), doc['path']))
    return runs, read(os.path.join('bench', 'bench-*.json'), 'rows'), problems


def cluster(document):
    """A run's cluster, named by its nodes."""
    return ','.join(node.get('name') or '?' for node in document.get('nodes') or [])


def tainted(document):
    """Why a run's figures cannot be trusted as they are (empty when they can)."""
    return list((document.get('conditions') or {}).get('tainted') or [])


def software(document):
    """MPI, BLAS and HPL as 'name version'."""
    def named(part, name='name'):
        value = document.get(part) or {}
        return ' '.join(str(value[key]) for key in (name, 'version') if value.get(key)) or None
    return {'mpi': named('mpi'), 'blas': named('blas'), 'hpl': named('hpl', 'method')}


def kernels(document):
    """The BLAS kernel each node ran, 'node:kernel' joined by spaces."""
    return ' '.join('%s:%s' % (node.get('name'), (node.get('blas_kernel') or {}).get('kernel'))
                    for node in document.get('nodes') or [])


def run_conditions(document):
    """A run's conditions over all its nodes: the governors, the lowest frequency and the
    highest temperature seen, the throttling flags that fired during the run, the most CPU
    other processes took on a node, and the power and GFLOPS per watt if measured."""
    found = document.get('conditions') or {}
    nodes = list((found.get('nodes') or {}).values())

    def seen(pick, combine):
        values = [value for value in (pick(node) for node in nodes) if value is not None]
        return combine(values) if values else None

    flags = sorted(set(flag for node in nodes for flag in throttled_during(node)))
    return {'governors': ' '.join(sorted(set(name for node in nodes for name in node.get('governors') or []))),
            'freq_mhz_min': seen(lambda node: ((node.get('freq_mhz') or {}).get('during') or [None])[0], min),
            'temp_c_max': seen(lambda node: (node.get('temp_c') or {}).get('max'), max),
            'throttled': ' '.join(flags), 'other_cores_max': seen(lambda node: node.get('other_cores'), max),
            'power_watts': found.get('power_watts'), 'gflops_per_watt': found.get('gflops_per_watt')}


def latest_per_node(documents):
    """The latest run that ran every node alone, or None."""
    measured = [document for document in documents if (document.get('per_node') or {}).get('nodes')]
    return measured[-1] if measured else None


def csv_rows(documents):
    """Every HPL result row of every run, as the CSV's dicts."""
    rows = []
    for document in documents:
        run = dict(software(document), run_id=document.get('id'), generated_at=document.get('generated_at'),
                   cluster=cluster(document), nodes=len(document.get('nodes') or []),
                   boot_medium=document.get('boot_medium'), blas_kernels=kernels(document),
                   rpeak_gflops=document.get('rpeak_gflops'), dgemm_gflops=document.get('dgemm_gflops'),
                   run_status=document.get('status'), tainted='; '.join(tainted(document)),
                   **run_conditions(document))
        for result in document.get('results') or []:
            row = dict(run, **dict((key, result.get(key)) for key in ROW_FIELDS))
            # As the document's own efficiency of its best row is computed.
            row['efficiency'] = efficiency(result.get('gflops'), document.get('rpeak_gflops'))
            row['efficiency_vs_dgemm'] = efficiency(result.get('gflops'), document.get('dgemm_gflops'))
            rows.append(row)
    return rows


def to_csv(rows):
    """The rows as CSV text, with a header line."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator='\n')
    writer.writeheader()
    for row in rows:
        writer.writerow(dict((key, '' if row.get(key) is None else row[key]) for key in CSV_FIELDS))
    return out.getvalue()


def best_run(documents):
    """The run with the fastest passed result, tainted runs left out; None if none passed."""
    passed = [doc for doc in documents if not tainted(doc) and ((doc.get('best') or {}).get('status') == 'passed')
              and (doc['best'].get('gflops') or 0) > 0]
    return max(passed, key=lambda doc: doc['best']['gflops']) if passed else None


def find(documents, run_id):
    """The run with ``run_id`` (or its file name)."""
    for document in documents:
        if run_id in (document.get('id'), os.path.basename(document['path']), document['path']):
            return document
    raise ReportError('no run %r in the results: the ids are %s' % (
        run_id, ', '.join(doc.get('id') or doc['path'] for doc in documents) or 'none'))


def compare(before, after):
    """What differs between two runs, and the GFLOPS change."""
    def node(entry):
        fields = dict((key, entry.get(key)) for key in ('model', 'cores', 'memory_mb', 'os', 'kernel', 'boot_medium'))
        return dict(fields, blas_kernel=(entry.get('blas_kernel') or {}).get('kernel'))

    def nodes(document):
        return dict((entry.get('name'), node(entry)) for entry in document.get('nodes') or [])

    differences = []
    for what, old, new in (
            [('nodes', sorted(nodes(before)), sorted(nodes(after)))]
            + [(part, software(before)[part], software(after)[part]) for part in ('mpi', 'blas', 'hpl')]
            + _changed('node %s', nodes(before), nodes(after))
            + _changed('HPL.dat %s', before.get('hpl_dat') or {}, after.get('hpl_dat') or {})
            + [('tainted', tainted(before), tainted(after))]):
        if old != new:
            differences.append({'what': what, 'before': old, 'after': new})
    gflops = [(doc.get('best') or {}).get('gflops') for doc in (before, after)]
    return {'before': before.get('id'), 'after': after.get('id'), 'gflops_before': gflops[0],
            'gflops_after': gflops[1], 'ratio': efficiency(gflops[1], gflops[0]), 'differences': differences}


def _changed(label, old, new):
    return [(label % key, old.get(key), new.get(key)) for key in sorted(set(old) | set(new), key=str)
            if key not in ('output_file', 'device_out')]


def sections(documents, benches=(), compare_ids=None):
    """What the report says, as sections for either Markdown or HTML: each a dict of
    ``title``, ``lead`` (a line to stress), ``text`` (paragraphs), ``items`` (a list) and
    ``table`` (``header``, ``rows``, ``tainted``: which rows to mark)."""
    found = [_best_section(best_run(documents), len(documents))]
    alone = latest_per_node(documents)
    if alone:
        found.append(_nodes_section(alone))
    found.append(_runs_section(documents))
    found += [_bench_section(bench) for bench in benches]
    if len(documents) >= 2:
        found.append(_comparison_section(compare(documents[-2], documents[-1])))
    if compare_ids:
        found.append(_comparison_section(compare(find(documents, compare_ids[0]), find(documents, compare_ids[1]))))
    return found


def summary(documents, benches=(), compare_ids=None):
    """The report's Markdown: the best run, its efficiency and TOP500 placement, the runs
    and the side-by-side benchmarks, and what changed between the last two runs."""
    return markdown(sections(documents, benches, compare_ids))


def markdown(found):
    """Sections as Markdown, under one title."""
    lines = ['# HPL results']
    for section in found:
        lines += [''] + (['## %s' % section['title'], ''] if section.get('title') else [])
        if section.get('lead'):
            lines += ['**%s**' % section['lead'], '']
        for paragraph in section.get('text') or []:
            lines += [paragraph, '']
        lines += ['- %s' % item for item in section.get('items') or []]
        table = section.get('table')
        if table:
            lines += ['| %s |' % ' | '.join(table['header']),
                      '| %s |' % ' | '.join('---:' if right else '---' for right in table['right'])]
            lines += ['| %s |' % ' | '.join(row) for row in table['rows']]
        while lines[-1] == '':
            lines.pop()
    return '\n'.join(lines) + '\n'


def comparison_lines(comparison):
    """A comparison as Markdown lines."""
    return markdown([_comparison_section(comparison)]).splitlines()[2:]


def _best_section(best, count):
    if best is None:
        return {'text': ['No run passed its residual check (%d runs).' % count]}
    top, nodes = best['best'], best.get('nodes') or []
    soft = software(best)
    items = [
        'Parameters: N=%s NB=%s P x Q = %s x %s, %s.' % (
            top.get('n'), top.get('nb'), top.get('p'), top.get('q'), top.get('tv')),
        'Efficiency: %s of Rpeak %s GFLOPS; %s of the DGEMM rate %s GFLOPS.' % (
            _percent(best.get('efficiency')), _cell(best.get('rpeak_gflops')),
            _percent(best.get('efficiency_vs_dgemm')), _cell(best.get('dgemm_gflops'))),
        'Software: %s; %s (kernels %s); HPL %s.' % (soft['mpi'], soft['blas'], kernels(best), soft['hpl'])]
    items += ['%s: %s, %s cores, %s MiB, %s, booted from %s.' % (
        node.get('name'), node.get('model'), node.get('cores'), node.get('memory_mb'), node.get('os'),
        node.get('boot_medium')) for node in nodes]
    if (best.get('top500') or {}).get('summary'):
        items.append('TOP500: %s.' % best['top500']['summary'])
    if best.get('conditions'):
        items.append('Conditions: %s.' % _conditions_text(run_conditions(best)))
    return {'lead': '%s GFLOPS on %d node%s (%s), run %s.' % (
        _cell(top['gflops']), len(nodes), '' if len(nodes) == 1 else 's', cluster(best), best.get('id')),
        'items': items}


def _conditions_text(found):
    parts = ['governor %s' % (found['governors'] or 'unknown')]
    if found['freq_mhz_min'] is not None:
        parts.append('lowest frequency %g MHz' % found['freq_mhz_min'])
    if found['temp_c_max'] is not None:
        parts.append('hottest %g C' % found['temp_c_max'])
    parts.append('throttling: %s' % (found['throttled'] or 'none'))
    if found['other_cores_max'] is not None:
        parts.append('other processes %.2f of a core at most' % found['other_cores_max'])
    if found['gflops_per_watt']:
        parts.append('%g GFLOPS per watt at %g W' % (found['gflops_per_watt'], found['power_watts']))
    return ', '.join(parts)


def _nodes_section(document):
    solo = document['per_node']
    rows = [[node['name'], _cell(node.get('gflops')), _percent(node['gflops'] / solo['median_gflops'])
             if node.get('gflops') and solo.get('median_gflops') else '', node.get('status') or '',
             'weak' if node['name'] in solo['weak'] else ''] for node in solo['nodes']]
    median = _cell(solo['median_gflops'])
    if solo['median_gflops'] is None:
        text = 'No node passed alone: see each run directory\'s mpirun.log.'
    elif solo['weak']:
        text = '%s more than 10 %% below the median %s GFLOPS: check its cooling, power supply, governor and BLAS.' % (
            ', '.join(solo['weak']), median)
    else:
        text = 'No node is more than 10 %% below the median, %s GFLOPS.' % median
    return {'title': 'Each node alone (run %s)' % document.get('id'), 'text': [text],
            'table': {'header': ['node', 'GFLOPS alone', 'of the median', 'status', ''],
                      'right': [False, True, True, False, False], 'rows': rows,
                      'tainted': [node['name'] in solo['weak'] for node in solo['nodes']]}}


def _runs_section(documents):
    rows, marked = [], []
    for document in documents:
        top = document.get('best') or {}
        status = document.get('status') or ''
        if tainted(document):
            status += ' (tainted: %s)' % '; '.join(tainted(document))
        rows.append([document.get('id') or '', cluster(document), _cell(top.get('gflops')), _cell(top.get('n')),
                     _cell(top.get('nb')), '%s x %s' % (top.get('p'), top.get('q')) if top else '',
                     top.get('tv') or '', status])
        marked.append(bool(tainted(document)))
    return {'title': 'Runs', 'table': {
        'header': ['run', 'cluster', 'GFLOPS', 'N', 'NB', 'P x Q', 'variant', 'status'],
        'right': [False, False, True, True, True, False, False, False], 'rows': rows, 'tainted': marked}}


def _bench_section(bench):
    rows = []
    for row in bench.get('rows') or []:
        grid = '%s x %s' % (row.get('p'), row.get('q')) if row.get('p') else ''
        rows.append([row.get('method') or '', _cell(row.get('gflops_median')), _percent(row.get('ratio_to_sweep_best')),
                     _percent(row.get('ratio_paired')), _cell(row.get('n')), _cell(row.get('nb')), grid])
    return {'title': 'Side-by-side benchmark %s' % os.path.basename(bench['path']), 'table': {
        'header': ['method', 'GFLOPS (median)', "of the sweep's best", 'same round (median)', 'N', 'NB', 'P x Q'],
        'right': [False, True, True, True, True, True, False], 'rows': rows, 'tainted': [False] * len(rows)}}


def _comparison_section(comparison):
    change = (_cell(comparison['gflops_before']), _cell(comparison['gflops_after']), _cell(comparison['ratio']))
    section = {'title': '%s against %s' % (comparison['after'], comparison['before']),
               'text': ['GFLOPS %s -> %s (x%s).' % change]}
    if not comparison['differences']:
        section['text'].append('Nothing else differs: same nodes, software and HPL.dat.')
        return section
    rows = [[item['what'], _text(item['before']), _text(item['after'])] for item in comparison['differences']]
    section['table'] = {'header': ['what', 'before', 'after'], 'right': [False] * 3, 'rows': rows,
                        'tainted': [False] * len(rows)}
    return section


def _cell(value):
    return '' if value is None else '%g' % value if isinstance(value, float) else str(value)


def _percent(value):
    return 'unknown' if value is None else '%.1f %%' % (100.0 * value)


def _text(value):
    if value is None:
        return ''
    if isinstance(value, list):
        return ', '.join(str(item) for item in value)
    return json.dumps(value) if isinstance(value, dict) else str(value)


def write(directory, out=None, compare_ids=None, check=False):
    """Write the report of ``directory`` to ``out`` (default ``<directory>/report``):
    ``index.html`` with its charts in ``charts/``, ``report.md`` and ``results.csv``, each
    only when its content changes (none with ``check``). Returns where, which files
    changed, and the files that were skipped."""
    runs, benches, problems = load(directory)
    if not runs and not benches:
        raise ReportError('%s holds no results (hpl-*.json, bench/bench-*.json): give the directory the '
                          'benchmark wrote them to' % directory)
    found = sections(runs, benches, compare_ids)
    pictures, note = _charts(runs, benches)
    files = dict((path, picture) for path, dummy, dummy2, picture in pictures)
    files.update({'report.md': markdown(found).encode('utf-8'), 'results.csv': to_csv(csv_rows(runs)).encode('utf-8'),
                  'index.html': report_html.page(found, [(path, title, caption) for path, title, caption, dummy
                                                         in pictures],
                                                 note).encode('utf-8')})
    out = out or os.path.join(directory, 'report')
    changed = sorted(name for name, content in files.items() if _read(os.path.join(out, name)) != content)
    if not check:
        for name in changed:
            atomic_write(os.path.join(out, name), files[name])
    return {'out': out, 'files': sorted(files), 'changed_files': changed, 'runs': len(runs), 'benches': len(benches),
            'charts': len(pictures), 'problems': problems, 'note': note}


def _charts(runs, benches):
    """``[(charts/<name>.png, title, caption, PNG bytes)]``, and why there are none when matplotlib
    is missing (report.md and results.csv need only Python)."""
    from ansible_collections.picluster.hpl.plugins.module_utils import charts
    wanted = charts.chart_data(runs, benches)
    try:
        drawn = [('charts/%s.png' % name, title, caption, charts.draw(name, title, data))
                 for name, title, data, caption in wanted]
    except ImportError as error:
        return [], 'No charts: %s (pip install matplotlib on this machine, then run the report again).' % error
    return drawn, None


def _read(path):
    try:
        with open(path, 'rb') as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def main(argv=None):
    import argparse
    import sys
    parser = argparse.ArgumentParser(description='Write the report of a picluster.hpl results directory.')
    parser.add_argument('directory', nargs='?', default='results', help='the results directory (default: results)')
    parser.add_argument('--out', help='where to write the report (default: DIRECTORY/report)')
    parser.add_argument('--compare', nargs=2, metavar=('BEFORE', 'AFTER'), help='two run ids to compare')
    args = parser.parse_args(argv)
    try:
        done = write(args.directory, args.out, args.compare)
    except ReportError as error:
        sys.stderr.write('report: %s\n' % error)
        return 2
    for problem in done['problems']:
        sys.stderr.write('report: skipped %s: %s\n' % (problem['path'], problem['reason']))
    if done['note']:
        sys.stderr.write('report: %s\n' % done['note'])
    sys.stdout.write('report: %d runs and %d benchmark tables -> %s (index.html with %d charts, report.md, '
                     'results.csv)\n' % (done['runs'], done['benches'], done['out'], done['charts']))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
