"""A run's conditions: the firmware's throttling flags decoded, each node's sampler report
kept, and the reasons a run is tainted."""

import json
import os

import jsonschema
import pytest

from ansible_collections.picluster.hpl.plugins.module_utils import conditions, results
from conftest import ROOT
from report_fixtures import run_document, sampler_report as report


def test_the_throttling_flags_decode_now_and_since_boot():
    assert conditions.decode_throttled(0x50005) == {'now': ['under-voltage', 'throttled'],
                                                    'since_boot': ['under-voltage', 'throttled']}
    assert conditions.decode_throttled(0x80000) == {'now': [], 'since_boot': ['soft temperature limit']}
    assert conditions.decode_throttled(0) == {'now': [], 'since_boot': []}
    assert conditions.decode_throttled(None) is None


@pytest.mark.parametrize('node, expected', [
    (report(), []),
    # Under-voltage seen in a sample during the run.
    (report(during=0x1, after=0x10000), ['pi2: under-voltage during the run']),
    # Capped and back between two samples: only the since-boot bit says so.
    (report(before=0, after=0x20000), ['pi2: frequency capped during the run']),
    # A soft temperature limit hit before the run, not since: the run is clean.
    (report(before=0x80000, after=0x80000), []),
    (report(other=4.0, measured=10.0), ['pi2: other processes used 0.40 of a core while HPL ran (stress-ng 4.0 s)']),
    (report(other=2.0, measured=10.0), []),
    # Without vcgencmd: no flags, the rest still judged.
    (report(vcgencmd=False), []),
])
def test_a_run_is_tainted_by_throttling_during_it_or_by_other_processes(node, expected):
    summary = conditions.summarise({'pi1': report(), 'pi2': node})
    assert summary['tainted'] == expected
    assert summary['nodes']['pi2']['temp_c'] == {'before': 45.0, 'after': 61.5, 'max': 63.0,
                                                 'source': node['after']['temp_source']}


def test_the_document_keeps_the_conditions_and_the_console_line_says_tainted():
    document = run_document('single_passed', 0)
    run = {'output': document['output'], 'hosts': ['pi1', 'pi2'], 'conditions': {
        'pi1': report(), 'pi2': report(during=0x4, after=0x40004)}, 'power_watts': 12.5}
    nodes = dict((entry['name'], entry) for entry in document['nodes'])
    built = results.build_document(run, nodes)
    with open(os.path.join(ROOT, 'schemas', 'hpl_results.schema.json')) as handle:
        jsonschema.validate(built, json.load(handle))
    assert built['conditions']['tainted'] == ['pi2: throttled during the run']
    assert built['conditions']['gflops_per_watt'] == round(built['best']['gflops'] / 12.5, 4)
    assert built['conditions']['nodes']['pi1']['governors'] == ['performance']
    line = results.headline(built)
    assert line.startswith('HPL PASSED, TAINTED (pi2: throttled during the run): ')
    assert 'GFLOPS per watt at 12.5 W' in line
    # A run without a sampler (older documents, check mode) has no conditions at all.
    assert 'conditions' not in results.build_document({'output': document['output']}, nodes)
