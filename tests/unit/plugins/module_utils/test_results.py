import datetime
import json
import os

import jsonschema
import pytest

from ansible_collections.picluster.hpl.plugins.module_utils import results
from conftest import ROOT, read_fixture

NOW = datetime.datetime(2026, 11, 24, 3, 0, 0, tzinfo=datetime.timezone.utc)
with open(os.path.join(ROOT, 'schemas', 'hpl_results.schema.json')) as handle:
    SCHEMA = json.load(handle)
PI4 = {'ansible_architecture': 'aarch64', 'ansible_processor_vcpus': 4, 'ansible_memtotal_mb': 7812,
       'ansible_distribution': 'Debian', 'ansible_distribution_version': '12.8', 'ansible_kernel': '6.6.51+rpt-rpi-v8',
       'picluster_hpl_node': {'model': 'Raspberry Pi 4 Model B Rev 1.4', 'boot_medium': 'nfs', 'memory_mb': 7812,
                              'cores': 4, 'peak': {'gflops': 6.0, 'source': 'board'}}}


def document(run, nodes=None):
    doc = results.build_document(run, nodes or {}, now=NOW)
    jsonschema.validate(doc, SCHEMA)
    return doc


def test_pi_cluster_document():
    nodes = dict((name, results.node_from_facts(name, PI4)) for name in ('pi1', 'pi2', 'pi3'))
    sizing = {'n': 4032, 'nb': 192, 'p': 1, 'q': 2, 'bounding_node': 'pi3',
              'nodes': [{'name': 'pi1', 'ranks': 1}, {'name': 'pi2', 'ranks': 1}, {'name': 'pi3', 'ranks': 0}]}
    doc = document({'output': read_fixture('hpl', 'single_passed.out'), 'hosts': ['pi1', 'pi2', 'pi3'],
                    'hpl_dat': read_fixture('hpl', 'single_passed.dat'), 'sizing': sizing}, nodes)
    assert doc['id'] == '20261124T030000Z-pi1'
    assert [n['boot_medium'] for n in doc['nodes']] == ['nfs'] * 3 and doc['boot_medium'] == 'nfs'
    assert doc['nodes'][0]['model'] == 'Raspberry Pi 4 Model B Rev 1.4' and doc['nodes'][0]['arch'] == 'aarch64'
    assert doc['nodes'][0]['os'] == 'Debian 12.8'
    # Rpeak counts cores that run a rank: 2 ranks x 6.0 GFLOPS.
    assert doc['rpeak_gflops'] == 12.0 and doc['rpeak_source'] == 'nodes'
    assert doc['efficiency'] == pytest.approx(74.16 / 12.0, abs=1e-4)
    assert doc['dgemm_gflops'] is None and doc['efficiency_vs_dgemm'] is None
    assert 'of Rpeak 12.0 GFLOPS' in results.headline(doc)
    assert doc['output'] == read_fixture('hpl', 'single_passed.out')


def test_hpcc_document_measures_against_dgemm():
    doc = document({'output': read_fixture('hpcc', 'hpccoutf.txt'), 'hosts': ['x86']})
    hpcc = doc['hpcc']
    assert doc['dgemm_gflops'] == pytest.approx(hpcc['StarDGEMM_Gflops'] * 2, abs=1e-3)
    assert doc['efficiency_vs_dgemm'] == pytest.approx(doc['best']['gflops'] / doc['dgemm_gflops'], abs=1e-4)
    assert doc['rpeak_gflops'] is None and 'Rpeak unknown' in results.headline(doc)
    assert '% of DGEMM' in results.headline(doc)


def test_error_run_document():
    doc = document({'output': read_fixture('hpl', 'need_processes.out'), 'hosts': ['pi1']})
    assert doc['status'] == 'error' and doc['best'] is None and doc['top500'] is None
    assert results.headline(doc).startswith('HPL run 20261124T030000Z-pi1: no result (HPL ERROR in HPL_pdinfo')


def test_a_run_record_without_output_is_refused():
    with pytest.raises(ValueError, match="'output'"):
        results.build_document({'hosts': ['a']}, {})


def test_boot_medium_of_the_cluster_is_one_field():
    node = dict(PI4['picluster_hpl_node'], boot_medium='sd', overclocks={'arm_freq': 2000})
    sd = dict(PI4, picluster_hpl_node=node)
    nodes = {'pi1': results.node_from_facts('pi1', PI4), 'pi2': results.node_from_facts('pi2', sd)}
    doc = document({'output': read_fixture('hpl', 'single_passed.out'), 'hosts': ['pi1', 'pi2']}, nodes)
    assert doc['boot_medium'] == 'mixed'
    assert doc['nodes'][1]['overclocks'] == {'arm_freq': 2000} and doc['nodes'][0]['overclocks'] == {}
    doc = document({'output': read_fixture('hpl', 'single_passed.out'), 'hosts': ['x']})
    assert doc['boot_medium'] is None
