"""The report of a results directory, from documents the results module builds out of
recorded HPL runs: the CSV holds every row with the numbers of its JSON, the summary names
the best untainted run, and a comparison says what differs."""

import csv
import datetime
import io
import json
import os

import pytest

from ansible_collections.picluster.hpl.plugins.module_utils import report, results
from conftest import read_fixture

PI4 = {'ansible_architecture': 'aarch64', 'ansible_processor_vcpus': 4, 'ansible_memtotal_mb': 7812,
       'ansible_distribution': 'Debian', 'ansible_distribution_version': '12.8',
       'picluster_hpl_node': {'model': 'Raspberry Pi 4 Model B Rev 1.4', 'memory_mb': 7812, 'cores': 4,
                              'peak': {'gflops': 6.0, 'source': 'board'}}}


def run_document(fixture, minute, boot_medium='sd', hosts=('pi1', 'pi2')):
    node = dict(PI4, picluster_hpl_node=dict(PI4['picluster_hpl_node'], boot_medium=boot_medium))
    nodes = dict((name, results.node_from_facts(name, node)) for name in hosts)
    now = datetime.datetime(2026, 11, 24, 3, minute, 0, tzinfo=datetime.timezone.utc)
    return results.build_document({'output': read_fixture('hpl', fixture + '.out'), 'hosts': list(hosts),
                                   'hpl_dat': read_fixture('hpl', fixture + '.dat'),
                                   'mpi': {'name': 'openmpi', 'version': '4.1.4'}}, nodes, now=now)


@pytest.fixture
def directory(tmp_path):
    docs = [run_document('single_passed', 0, 'sd'), run_document('matrix_sweep', 10, 'nfs'),
            run_document('failed_residual', 20, 'nfs')]
    for doc in docs:
        (tmp_path / ('hpl-%s.json' % doc['id'])).write_text(json.dumps(doc))
    (tmp_path / 'hpl-broken.json').write_text('{"results": ')
    return tmp_path


def test_every_row_of_every_run_is_one_csv_line_with_its_json_numbers(directory):
    runs, _benches, problems = report.load(str(directory))
    assert [doc['id'][:15] for doc in runs] == ['20261124T030000', '20261124T031000', '20261124T032000']
    assert [os.path.basename(problem['path']) for problem in problems] == ['hpl-broken.json']
    lines = list(csv.DictReader(io.StringIO(report.to_csv(report.csv_rows(runs)))))
    assert len(lines) == sum(len(doc['results']) for doc in runs) > 3
    by_run = dict((doc['id'], doc) for doc in runs)
    for line in lines:
        doc = by_run[line['run_id']]
        row = doc['results'][[r for r in lines if r['run_id'] == line['run_id']].index(line)]
        assert (float(line['gflops']), int(line['n']), int(line['nb']), line['tv']) == (
            row['gflops'], row['n'], row['nb'], row['tv'])
        assert line['status'] == row['status'] and line['boot_medium'] == doc['boot_medium']
        # Two Pi 4s, every core: 2 x 4 x 6.0 GFLOPS.
        assert float(line['rpeak_gflops']) == doc['rpeak_gflops'] == 48.0
        assert float(line['efficiency']) == pytest.approx(row['gflops'] / 48.0, abs=1e-4)
        assert line['cluster'] == 'pi1,pi2' and line['mpi'] == 'openmpi 4.1.4'


def test_the_summary_names_the_best_run_and_leaves_a_tainted_one_out(directory):
    runs, benches, _problems = report.load(str(directory))
    best = max((doc for doc in runs if doc['status'] == 'passed'), key=lambda doc: doc['best']['gflops'])
    text = report.summary(runs, benches)
    assert text.startswith('# HPL results\n\n**%s GFLOPS** on 2 nodes (pi1,pi2), run %s.' % (
        best['best']['gflops'], best['id']))
    assert 'Raspberry Pi 4 Model B Rev 1.4' in text and 'TOP500' in text
    # The same run, tainted (a node throttled during it): marked, and no longer the best.
    best['conditions'] = {'tainted': ['pi2 throttled']}
    assert report.best_run(runs)['id'] != best['id']
    assert '(tainted: pi2 throttled)' in report.summary(runs, benches)
    assert 'pi2 throttled' in report.to_csv(report.csv_rows(runs))


def test_a_comparison_says_what_differs_and_the_gflops_change(directory):
    runs, _benches, _problems = report.load(str(directory))
    comparison = report.compare(runs[0], runs[1])
    differs = dict((item['what'], (item['before'], item['after'])) for item in comparison['differences'])
    assert differs['node pi1'][0]['boot_medium'] == 'sd' and differs['node pi1'][1]['boot_medium'] == 'nfs'
    assert 'HPL.dat nbs' in differs and 'mpi' not in differs
    assert comparison['ratio'] == pytest.approx(runs[1]['best']['gflops'] / runs[0]['best']['gflops'], abs=1e-4)
    same = report.compare(runs[1], runs[1])
    assert same['differences'] == [] and same['ratio'] == 1.0
    assert 'Nothing else differs' in '\n'.join(report.comparison_lines(same))


def test_the_command_writes_the_report_and_says_what_to_change_on_bad_input(directory, tmp_path, capsys):
    out = tmp_path / 'out'
    runs, _benches, _problems = report.load(str(directory))
    assert report.main([str(directory), '--out', str(out), '--compare', runs[0]['id'], runs[2]['id']]) == 0
    assert sorted(os.listdir(str(out))) == ['report.md', 'results.csv']
    assert '## %s against %s' % (runs[2]['id'], runs[0]['id']) in (out / 'report.md').read_text()
    assert 'skipped' in capsys.readouterr().err
    assert report.main([str(tmp_path / 'none')]) == 2
    assert 'is not a directory' in capsys.readouterr().err
    empty = tmp_path / 'empty'
    empty.mkdir()
    assert report.main([str(empty)]) == 2 and 'holds no results' in capsys.readouterr().err
    assert report.main([str(directory), '--compare', 'nope', runs[0]['id']]) == 2
    assert "no run 'nope'" in capsys.readouterr().err
