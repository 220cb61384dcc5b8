"""The report's charts, from recorded runs (tests/support/report_fixtures.py): what each
one plots, that tainted runs stay apart, and that each draws a real, non-blank PNG that
the next report writes byte for byte again."""

import io
import os
import subprocess
import sys

from PIL import Image

from ansible_collections.picluster.hpl.plugins.module_utils import charts, report
from report_fixtures import write_results
from conftest import COLLECTIONS_DIR


def loaded(tmp_path):
    write_results(tmp_path)
    runs, benches, problems = report.load(str(tmp_path))
    assert problems == []
    return runs, benches


def test_each_chart_plots_what_the_runs_measured(tmp_path):
    runs, benches = loaded(tmp_path)
    sweep = runs[1]
    nb = charts.nb_data(runs)
    # The sweep tested two NBs on two grids at N=500 and N=1000: the larger N is shown.
    assert (nb['cluster'], nb['n'], sorted(nb['grids'])) == ('pi1,pi2', 1000, ['1 x 2', '2 x 1'])
    for grid, points in nb['grids'].items():
        for size, gflops in points:
            assert gflops == max(row['gflops'] for row in sweep['results'] if row['n'] == 1000
                                 and row['nb'] == size and '%s x %s' % (row['p'], row['q']) == grid)
    heat = charts.grid_data(nb)
    assert heat['nbs'] == [32, 64] and heat['grids'] == ['1 x 2', '2 x 1']
    assert heat['gflops'][0][1] == dict(nb['grids']['1 x 2'])[64]
    # SD against NFS: the tainted NFS run is counted, not used; the failed one never is.
    boot = dict((group['label'].split('\n')[0], group) for group in charts.boot_data(runs))
    assert boot['sd'] == {'label': 'sd\npi1,pi2', 'gflops': runs[0]['best']['gflops'], 'runs': 1, 'tainted': 0}
    assert (boot['nfs']['gflops'], boot['nfs']['runs'], boot['nfs']['tainted']) == (sweep['best']['gflops'], 3, 1)
    history = charts.history_data(runs)['pi1,pi2']
    assert [point[2] for point in history] == [False, False, True]
    efficiency = charts.efficiency_data(runs)
    # The failed run has no efficiency to show.
    assert [row['tainted'] for row in efficiency] == [False, False, True]
    assert efficiency[0]['rpeak'] == runs[0]['efficiency']
    top = charts.top500_data(runs)
    assert top['gflops'] == report.best_run(runs)['best']['gflops'] and top['lists'][0][0] == '1993-06'
    bench = charts.bench_data(benches)
    assert [row[0] for row in bench['rows']][:3] == ['defaults', 'tune', 'sweep_best']
    # The sweep ran each node alone first: pi2 a fifth slower, and named.
    assert charts.nodes_data(runs) == {'run': sweep['id'], 'nodes': [['pi1', 74.16], ['pi2', 59.33]],
                                       'median': 66.745, 'weak': ['pi2']}
    assert [chart[0] for chart in charts.chart_data(runs, benches)] == [
        'nb', 'grid', 'boot', 'history', 'efficiency', 'nodes', 'top500', 'bench']


def test_every_chart_is_a_picture_and_the_next_report_writes_the_same_bytes(tmp_path):
    results = tmp_path / 'results'
    results.mkdir()
    runs, benches = loaded(results)
    for name, title, data, _caption in charts.chart_data(runs, benches):
        picture = Image.open(io.BytesIO(charts.draw(name, title, data)))
        assert picture.format == 'PNG' and picture.size == (800, 450)
        # Not blank: a chart has axes, lines or bars and text in many colours.
        assert len(picture.convert('RGB').getcolors(maxcolors=1 << 20)) > 50, name
    first = report.write(str(results))
    assert first['charts'] == 8 and 'charts/nodes.png' in first['files'] and first['note'] is None
    assert sorted(first['changed_files']) == sorted(first['files'])
    again = report.write(str(results))
    assert again['changed_files'] == []
    page = (results / 'report' / 'index.html').read_text()
    assert page.count('<img src="charts/') == 8 and 'class="tainted"' in page
    assert 'pi2 more than 10 % below the median 66.745 GFLOPS: check its cooling' in page


def test_without_matplotlib_the_report_says_why_it_has_no_charts(tmp_path):
    write_results(tmp_path)
    hidden = ("import sys; sys.modules['matplotlib'] = None; "
              "from ansible_collections.picluster.hpl.plugins.module_utils import report; "
              "raise SystemExit(report.main([%r]))" % str(tmp_path))
    done = subprocess.run([sys.executable, '-c', hidden], check=False, env=dict(os.environ, PYTHONPATH=COLLECTIONS_DIR),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    assert done.returncode == 0, done.stderr
    assert 'No charts' in done.stderr and 'pip install matplotlib' in done.stderr
    assert sorted(os.listdir(str(tmp_path / 'report'))) == ['index.html', 'report.md', 'results.csv']
    assert 'No charts' in (tmp_path / 'report' / 'index.html').read_text()
