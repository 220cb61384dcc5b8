# -*- coding: utf-8 -*-
# Copyright: picluster.hpl contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report's charts: what each one shows, taken from the run documents, and drawn as PNG.

The ``*_data`` functions are pure Python and say what a chart plots; ``draw`` turns them into
PNG bytes with matplotlib's headless Agg backend (imported only then, so that report.md and
results.csv need nothing but Python). Tainted runs are drawn apart (red crosses, hatched
bars) or left out with a note saying how many, never mixed into a best or a median.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import io

from ansible_collections.picluster.hpl.plugins.module_utils import top500
from ansible_collections.picluster.hpl.plugins.module_utils.peaks import efficiency
from ansible_collections.picluster.hpl.plugins.module_utils.report import best_run, cluster, latest_per_node, tainted

TAINTED = '#c62828'
RUNS_SHOWN = 16


def _passed(row):
    return row.get('status') == 'passed' and (row.get('gflops') or 0) > 0


def _label(document):
    """A run as its UTC date and time, 'MM-DD HH:MM:SS'."""
    stamp = document.get('generated_at') or ''
    return '%s %s' % (stamp[5:10], stamp[11:19]) if len(stamp) >= 19 else document.get('id') or '?'


def nb_data(runs):
    """GFLOPS by NB for each grid, on the best run's cluster (else the latest run's) at the N
    it tested most NBs at (result rows of every run and every tuning stage): ``{'cluster',
    'n', 'grids': {'PxQ': [[nb, gflops], ...]}, 'tainted': [[nb, gflops], ...]}``, or None."""
    if not runs:
        return None
    shown = cluster(best_run(runs) or runs[-1])
    rows = []
    for document in runs:
        if cluster(document) == shown:
            mine = list(document.get('results') or []) + list((document.get('tuning') or {}).get('rows') or [])
            rows += [(row, bool(tainted(document))) for row in mine if _passed(row)]
    by_n = {}
    for row, dummy in rows:
        by_n.setdefault(row['n'], set()).add(row['nb'])
    if not by_n:
        return None
    n = max(by_n, key=lambda size: (len(by_n[size]), size))
    if len(by_n[n]) < 2:
        return None
    grids, spoiled = {}, []
    for row, bad in rows:
        if row['n'] != n:
            continue
        if bad:
            spoiled.append([row['nb'], row['gflops']])
            continue
        points = grids.setdefault('%s x %s' % (row['p'], row['q']), {})
        points[row['nb']] = max(points.get(row['nb'], 0), row['gflops'])
    return {'cluster': shown, 'n': n, 'tainted': sorted(spoiled),
            'grids': dict((grid, sorted(points.items())) for grid, points in grids.items())}


def grid_data(nb):
    """The same rows as a P x Q (rows) by NB (columns) table of GFLOPS, None where untested
    (tainted rows are left out: a cell cannot be marked as a point can)."""
    if not nb or not nb['grids']:
        return None
    nbs = sorted(set(size for points in nb['grids'].values() for size, dummy in points))
    grids = sorted(nb['grids'], key=lambda grid: [int(part) for part in grid.split(' x ')])
    cells = [[dict(nb['grids'][grid]).get(size) for size in nbs] for grid in grids]
    return {'cluster': nb['cluster'], 'n': nb['n'], 'nbs': nbs, 'grids': grids, 'gflops': cells}


def boot_data(runs):
    """The best GFLOPS of each cluster on each boot medium: ``[{'label', 'gflops', 'runs',
    'tainted'}]`` (tainted runs counted, not used), or None when every run booted alike."""
    groups = {}
    for document in runs:
        key = (cluster(document), document.get('boot_medium') or 'unknown')
        group = groups.setdefault(key, {'gflops': None, 'runs': 0, 'tainted': 0})
        group['runs'] += 1
        gflops = (document.get('best') or {}).get('gflops')
        if tainted(document):
            group['tainted'] += 1
        elif _passed(document.get('best') or {}):
            group['gflops'] = max(group['gflops'] or 0, gflops)
    if len(set(medium for dummy, medium in groups)) < 2:
        return None
    return [dict(group, label='%s\n%s' % (medium, name)) for (name, medium), group in sorted(groups.items())]


def history_data(runs):
    """Each cluster's runs over time: ``{cluster: [[generated_at, gflops, tainted], ...]}``."""
    history = {}
    for document in runs:
        best = document.get('best') or {}
        if _passed(best) and document.get('generated_at'):
            history.setdefault(cluster(document), []).append(
                [document['generated_at'], best['gflops'], bool(tainted(document))])
    return history or None


def efficiency_data(runs):
    """The last runs' efficiency against Rpeak and against DGEMM: ``[{'label', 'rpeak',
    'dgemm', 'tainted'}]``."""
    rows = []
    for document in runs[-RUNS_SHOWN:]:
        gflops = (document.get('best') or {}).get('gflops')
        rows.append({'label': _label(document), 'tainted': bool(tainted(document)),
                     'rpeak': efficiency(gflops, document.get('rpeak_gflops')),
                     'dgemm': efficiency(gflops, document.get('dgemm_gflops'))})
    rows = [row for row in rows if row['rpeak'] is not None or row['dgemm'] is not None]
    return rows or None


def nodes_data(runs):
    """Each node's GFLOPS alone, from the latest run that measured them: ``{'run', 'nodes':
    [[name, gflops], ...], 'median', 'weak': [names]}``, or None."""
    document = latest_per_node(runs)
    if document is None:
        return None
    solo = document['per_node']
    return {'run': document.get('id'), 'median': solo.get('median_gflops'), 'weak': list(solo.get('weak') or []),
            'nodes': [[node['name'], node.get('gflops') or 0] for node in solo['nodes']]}


def top500_data(runs):
    """The best run against every list's #1 and #500: ``{'gflops', 'lists': [[list, first,
    last], ...], 'summary'}``, or None."""
    best = best_run(runs)
    if best is None:
        return None
    lists = top500.load_lists()
    return {'gflops': best['best']['gflops'], 'summary': (best.get('top500') or {}).get('summary'),
            'lists': [[name, values[0], values[-1]] for name, values in sorted(lists.items())]}


def bench_data(benches):
    """The latest side-by-side benchmark: each method's median, least and most GFLOPS."""
    if not benches:
        return None
    latest = sorted(benches, key=lambda bench: bench['path'])[-1]
    rows = [row for row in latest.get('rows') or [] if row.get('gflops_median')]
    best = [row['gflops_median'] for row in rows if row.get('method') == 'sweep_best']
    return {'name': latest['path'], 'sweep_best': best[0] if best else None, 'rows': [
        [row['method'], row['gflops_median'], row.get('gflops_min'), row.get('gflops_max'),
         row.get('ratio_to_sweep_best')] for row in rows]} if rows else None


def chart_data(runs, benches):
    """Every chart this results directory has data for: ``[(name, title, data, caption)]``."""
    nb, top = nb_data(runs), top500_data(runs)
    charts = [
        ('nb', 'GFLOPS by NB for each P x Q grid', nb,
         'One line per grid, from every sweep and tuning stage at one N: its peak is the NB to use. '
         'Red crosses are rows of tainted runs.'),
        ('grid', 'GFLOPS by P x Q and NB', grid_data(nb),
         'The same rows as a table (tainted runs left out): the brightest cell is the fastest grid and NB.'),
        ('boot', 'GFLOPS by boot medium', boot_data(runs),
         'The best untainted run of each cluster on each boot medium: SD card against NFS root.'),
        ('history', 'Runs over time', history_data(runs),
         "Each run's best GFLOPS, per cluster. Red crosses are tainted runs."),
        ('efficiency', 'Efficiency against Rpeak and DGEMM', efficiency_data(runs),
         "The last runs' best result as a share of the hardware's peak and of the measured DGEMM rate. "
         'Hatched bars are tainted runs.'),
        ('nodes', 'Each node alone', nodes_data(runs),
         'Each node on its own at the same memory share; red bars are more than 10 % below the median.'),
        ('top500', 'The best run on the TOP500 lists', top, (top or {}).get('summary') or ''),
        ('bench', 'Ways of choosing the parameters, side by side', bench_data(benches),
         "Each method's median GFLOPS (bars: least to most), as a share of the exhaustive sweep's best."),
    ]
    return [chart for chart in charts if chart[2]]


def draw(name, title, data):
    """One chart as PNG bytes."""
    import matplotlib
    matplotlib.use('Agg')
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(8, 4.5), dpi=100)
    try:
        DRAW[name](axes, data)
        axes.set_title(title)
        figure.tight_layout()
        out = io.BytesIO()
        # No date or version in the file: the same data draws the same bytes.
        figure.savefig(out, format='png', metadata={'Software': None})
        return out.getvalue()
    finally:
        pyplot.close(figure)


def _nb(axes, data):
    for grid, points in sorted(data['grids'].items()):
        axes.plot([nb for nb, dummy in points], [gflops for dummy, gflops in points], marker='o', label=grid)
    if data['tainted']:
        axes.scatter([nb for nb, dummy in data['tainted']], [g for dummy, g in data['tainted']], marker='x',
                     color=TAINTED, label='tainted runs')
    axes.set_xlabel('NB (N = %d, %s)' % (data['n'], data['cluster']))
    axes.set_ylabel('GFLOPS')
    axes.legend(fontsize='small')
    axes.grid(alpha=0.3)


def _grid(axes, data):
    values = [[float('nan') if cell is None else cell for cell in row] for row in data['gflops']]
    image = axes.imshow(values, aspect='auto', cmap='viridis')
    axes.set_xticks(range(len(data['nbs'])), [str(nb) for nb in data['nbs']])
    axes.set_yticks(range(len(data['grids'])), data['grids'])
    axes.set_xlabel('NB (N = %d)' % data['n'])
    axes.set_ylabel('P x Q')
    low, high = image.get_clim()
    for y, row in enumerate(data['gflops']):
        for x, cell in enumerate(row):
            if cell is not None and len(data['nbs']) <= 16:
                # Dark text on the bright end of the colour map, light on the dark end.
                colour = 'black' if high > low and (cell - low) / (high - low) > 0.6 else 'white'
                axes.text(x, y, '%.3g' % cell, ha='center', va='center', fontsize='x-small', color=colour)
    axes.figure.colorbar(image, ax=axes, label='GFLOPS')


def _boot(axes, data):
    heights = [group['gflops'] or 0 for group in data]
    bars = axes.bar(range(len(data)), heights, color='#1565c0')
    axes.set_xticks(range(len(data)), [group['label'] for group in data], fontsize='small')
    for shown, group in zip(bars, data):
        note = '%d runs' % group['runs'] + (', %d tainted left out' % group['tainted'] if group['tainted'] else '')
        axes.annotate(note, (shown.get_x() + shown.get_width() / 2, shown.get_height()), ha='center', va='bottom',
                      fontsize='x-small')
    axes.set_ylabel('best GFLOPS')


def _history(axes, data):
    for name, points in sorted(data.items()):
        dated = [(_when(at), gflops, bad) for at, gflops, bad in points]
        clean = [(at, gflops) for at, gflops, bad in dated if not bad]
        axes.plot([at for at, dummy in clean], [g for dummy, g in clean], marker='o', label=name)
        spoiled = [(at, gflops) for at, gflops, bad in dated if bad]
        if spoiled:
            axes.scatter([at for at, dummy in spoiled], [g for dummy, g in spoiled], marker='x', color=TAINTED,
                         label='%s, tainted' % name, zorder=3)
    axes.set_ylabel('best GFLOPS of the run')
    axes.tick_params(axis='x', labelrotation=30, labelsize='x-small')
    axes.legend(fontsize='x-small')
    axes.grid(alpha=0.3)


def _when(stamp):
    """An ISO 8601 time as the document writes it (2026-12-05T06:50:46.891441+00:00)."""
    return datetime.datetime.strptime(stamp[:19], '%Y-%m-%dT%H:%M:%S')


def _efficiency(axes, data):
    places = range(len(data))
    for offset, key, label in ((-0.2, 'rpeak', 'of Rpeak'), (0.2, 'dgemm', 'of DGEMM')):
        bars = axes.bar([place + offset for place in places], [100 * (row[key] or 0) for row in data], width=0.4,
                        label=label)
        for shown, row in zip(bars, data):
            if row['tainted']:
                shown.set_hatch('xx')
                shown.set_edgecolor(TAINTED)
    axes.set_xticks(list(places), [row['label'] for row in data], rotation=60, ha='right', fontsize='x-small')
    axes.set_ylabel('% (hatched: tainted)')
    axes.legend(fontsize='small')


def _nodes(axes, data):
    names = [name for name, dummy in data['nodes']]
    colours = [TAINTED if name in data['weak'] else '#2e7d32' for name in names]
    axes.bar(names, [gflops for dummy, gflops in data['nodes']], color=colours)
    if data['median']:
        axes.axhline(data['median'], color='black', linestyle='--', label='median')
        axes.axhline(0.9 * data['median'], color=TAINTED, linestyle=':', label='10 % below the median')
        axes.legend(fontsize='small')
    axes.set_ylabel('GFLOPS alone (red: weak)')


def _top500(axes, data):
    names = [name for name, dummy, dummy2 in data['lists']]
    axes.semilogy(names, [first for dummy, first, dummy2 in data['lists']], label='#1')
    axes.semilogy(names, [last for dummy, dummy2, last in data['lists']], label='#500')
    axes.axhline(data['gflops'], color=TAINTED, label='this cluster, %g GFLOPS' % data['gflops'])
    axes.set_xticks(names[::4], names[::4], rotation=45, fontsize='x-small')
    axes.set_ylabel('Rmax GFLOPS')
    axes.legend(fontsize='small')


def _bench(axes, data):
    rows = data['rows']
    medians = [row[1] for row in rows]
    errors = [[row[1] - (row[2] or row[1]) for row in rows], [(row[3] or row[1]) - row[1] for row in rows]]
    axes.barh(range(len(rows)), medians, xerr=errors, color='#6a1b9a')
    axes.set_yticks(range(len(rows)), [row[0] for row in rows])
    axes.invert_yaxis()
    if data['sweep_best']:
        axes.axvline(data['sweep_best'], color='black', linestyle='--', label="the sweep's best")
        axes.legend(fontsize='small', loc='lower right')
    for place, row in enumerate(rows):
        if row[0] == 'dgemm':
            axes.text(row[1], place, 'the ceiling ', ha='right', va='center', fontsize='small', color='white')
        elif row[4] is not None:
            axes.text(row[1], place, '%.1f %% ' % (100 * row[4]), ha='right', va='center', fontsize='small',
                      color='white')
    axes.set_xlabel('GFLOPS, median (bars: least to most)')


DRAW = {'nb': _nb, 'grid': _grid, 'boot': _boot, 'history': _history, 'efficiency': _efficiency, 'nodes': _nodes,
        'top500': _top500, 'bench': _bench}
