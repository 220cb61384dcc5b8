"""The collection as users meet it: docs, examples, the callback, a built and installed copy,
ansible-lint and ansible-test sanity."""

import glob
import json
import os
import shutil
import tarfile

import jsonschema
import pytest
import yaml

from helpers import EXAMPLES_NOT_RUN, FIXTURES, LOCAL_INVENTORY, PLUGINS, ROOT, ansible_env, run

pytestmark = pytest.mark.slow
SCHEMA = os.path.join(ROOT, 'schemas', 'hpl_results.schema.json')


def plugin_docs(env):
    docs = {}
    for kind, names in PLUGINS.items():
        result = run(['ansible-doc', '--json', '-t', kind] + ['picluster.hpl.' + n for n in names], env)
        assert result.returncode == 0, result.stdout
        for name, doc in json.loads(result.stdout).items():
            docs[(kind, name)] = doc
    return docs


def examples_playbook(docs, directory):
    """Every plugin's EXAMPLES, as written, as the tasks of one playbook."""
    tasks = []
    for (kind, name), doc in sorted(docs.items()):
        if doc.get('examples') and name.split('.')[-1] not in EXAMPLES_NOT_RUN:
            tasks.extend(yaml.safe_load(doc['examples']))
    shutil.copy(os.path.join(FIXTURES, 'hpl', 'single_passed.out'), os.path.join(str(directory), 'HPL.out'))
    with open(os.path.join(str(directory), 'inventory.yml'), 'w') as handle:
        handle.write(LOCAL_INVENTORY)
    path = os.path.join(str(directory), 'examples.yml')
    with open(path, 'w') as handle:
        yaml.safe_dump([{'name': 'Plugin examples', 'hosts': 'cluster', 'gather_facts': True, 'tasks': tasks}],
                       handle, sort_keys=False)
    return path, len(tasks)


def test_every_plugin_is_documented(collections_dir):
    docs = plugin_docs(ansible_env(collections_dir))
    assert len(docs) == sum(len(v) for v in PLUGINS.values())
    for (kind, name), doc in docs.items():
        assert doc['doc']['short_description'], name
        if kind != 'callback':
            assert doc.get('examples'), '%s has no EXAMPLES' % name


def test_examples_run_as_written(collections_dir, tmp_path):
    env = ansible_env(collections_dir, results_dir=tmp_path / 'results')
    playbook, count = examples_playbook(plugin_docs(env), tmp_path)
    assert count >= 10
    result = run(['ansible-playbook', '-i', str(tmp_path / 'inventory.yml'), playbook], env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout
    assert 'failed=0' in result.stdout
    # The documented answers come out: 34368 for the three Pi 4 boards, [3, 4] for 12 ranks.
    assert '"msg": 34368' in result.stdout or 'msg: 34368' in result.stdout
    assert 'would have ranked #336 on the June 1999 TOP500 list' in result.stdout


def test_module_refuses_bad_input_with_what_to_change(collections_dir):
    env = ansible_env(collections_dir)
    result = run(['ansible', 'localhost', '-m', 'picluster.hpl.hpl_params', '-a',
                  '{"nodes": [{"name": "pi1", "memory_mb": 3794, "cores": 4}], "memory_fraction": 1.2}'], env)
    assert result.returncode != 0
    assert 'use about 0.80' in result.stdout


def load_documents(directory):
    paths = sorted(glob.glob(os.path.join(str(directory), 'hpl-*.json')))
    with open(SCHEMA) as handle:
        schema = json.load(handle)
    documents = []
    for path in paths:
        with open(path) as handle:
            document = json.load(handle)
        jsonschema.validate(document, schema, format_checker=jsonschema.FormatChecker())
        documents.append(document)
    return sorted(documents, key=lambda d: d['generated_at'])


def test_callback_writes_every_run_and_keeps_them_when_the_play_fails(collections_dir, tmp_path):
    results = tmp_path / 'results'
    env = ansible_env(collections_dir, results_dir=results)
    playbook = os.path.join(ROOT, 'tests', 'integration', 'playbooks', 'record_runs.yml')
    inventory = tmp_path / 'inventory.yml'
    inventory.write_text(LOCAL_INVENTORY)
    result = run(['ansible-playbook', '-i', str(inventory), playbook], env)
    assert result.returncode == 2, result.stdout  # the failed residual fails the play...
    assert 'HPL residual check FAILED' in result.stdout
    passed, failed = load_documents(results)  # ...and both runs are on disk, schema-valid.

    assert passed['status'] == 'passed' and passed['best']['gflops'] == 74.16
    assert passed['best']['tv'] == 'WR11C2R4' and passed['best']['residual'] < 16
    node = passed['nodes'][0]
    assert node['name'] == 'localhost' and node['arch'] == os.uname().machine
    assert node['cores'] == os.cpu_count() and node['memory_mb'] > 0 and node['kernel'] == os.uname().release
    assert node['boot_medium'] in ('disk', 'container', 'sd', 'nfs', 'usb', 'nvme', 'emmc', 'unknown')
    assert passed['mpi'] == {'name': 'openmpi', 'version': '4.1.4'}
    assert passed['hpl_dat']['ns'] == [4032] and passed['hpl_dat']['nbs'] == [192]
    assert passed['sizing']['n'] == 4032 and passed['sizing']['bounding_node'] == 'localhost'
    assert passed['top500']['latest_list'] == '2001-06'
    assert passed['top500']['summary'].startswith('74.16 GFLOPS would have ranked')

    assert failed['status'] == 'failed' and failed['best'] is None
    assert [r['status'] for r in failed['results']] == ['failed', 'failed']
    assert failed['efficiency'] is None and failed['top500'] is None
    assert 'HPL PASSED: 74.16 GFLOPS (WR11C2R4 N=4032 NB=192 P=1 Q=2' in result.stdout


def test_callback_efficiency_against_a_given_peak(collections_dir, tmp_path):
    env = ansible_env(collections_dir, results_dir=tmp_path)
    inventory = tmp_path / 'inventory.yml'
    inventory.write_text(LOCAL_INVENTORY)
    playbook = os.path.join(ROOT, 'tests', 'integration', 'playbooks', 'record_runs.yml')
    result = run(['ansible-playbook', '-i', str(inventory), playbook, '-e', 'record_failed=false',
                  '-e', 'rpeak_gflops=100'], env)
    assert result.returncode == 0, result.stdout
    (document,) = load_documents(tmp_path)
    assert document['rpeak_gflops'] == 100 and document['rpeak_source'] == 'override'
    assert document['efficiency'] == pytest.approx(0.7416)
    assert '74.2% of Rpeak 100.0 GFLOPS' in result.stdout


def test_callback_write_error_is_a_warning_not_a_failure(collections_dir, tmp_path):
    blocker = tmp_path / 'a-file'
    blocker.write_text('not a directory')
    env = ansible_env(collections_dir, results_dir=blocker / 'results')
    inventory = tmp_path / 'inventory.yml'
    inventory.write_text(LOCAL_INVENTORY)
    playbook = os.path.join(ROOT, 'tests', 'integration', 'playbooks', 'record_runs.yml')
    result = run(['ansible-playbook', '-i', str(inventory), playbook, '-e', 'record_failed=false'], env)
    assert result.returncode == 0, result.stdout
    assert 'hpl_results: could not write' in result.stdout
    assert 'HPL PASSED: 74.16 GFLOPS' in result.stdout


def test_built_collection_installs_and_works_by_fqcn(tmp_path):
    build = run(['ansible-galaxy', 'collection', 'build', '--output-path', str(tmp_path), ROOT],
                ansible_env(str(tmp_path / 'none')))
    assert build.returncode == 0, build.stdout
    (tarball,) = glob.glob(str(tmp_path / 'picluster-hpl-*.tar.gz'))
    with tarfile.open(tarball) as archive:
        names = set(archive.getnames())
    for wanted in ('data/top500_rmax_1993_2014.csv', 'schemas/hpl_results.schema.json',
                   'plugins/module_utils/hpl_output.py', 'plugins/filter/top500_rank.yml', 'MANIFEST.json'):
        assert wanted in names
    assert not any(n.startswith(('.cache', '.venv', 'tests/output', 'results')) for n in names)

    installed = tmp_path / 'collections'
    install = run(['ansible-galaxy', 'collection', 'install', '--no-deps', '-p', str(installed), tarball],
                  ansible_env(str(installed)))
    assert install.returncode == 0, install.stdout
    # Outside the repository, with no ansible.cfg of ours: only the installed copy is found.
    empty_config = tmp_path / 'ansible.cfg'
    empty_config.write_text('[defaults]\n')
    env = ansible_env(str(installed), results_dir=tmp_path / 'results', config=str(empty_config),
                      ANSIBLE_CALLBACKS_ENABLED='picluster.hpl.hpl_results')
    where = run(['ansible-doc', '-t', 'filter', 'picluster.hpl.top500_rank'], env, cwd=tmp_path)
    assert str(installed) in where.stdout
    playbook, dummy = examples_playbook(plugin_docs(env), tmp_path)
    result = run(['ansible-playbook', '-i', str(tmp_path / 'inventory.yml'), playbook], env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout
    assert 'would have ranked #336 on the June 1999 TOP500 list' in result.stdout


def test_ansible_lint_production_profile():
    result = run(['ansible-lint', '--offline'], ansible_env(os.path.join(ROOT, '.cache', 'collections')))
    assert result.returncode == 0, result.stdout
    assert "Profile 'production' was required, and it passed" in result.stdout


def test_ansible_test_sanity():
    result = run([os.path.join(ROOT, 'scripts', 'sanity')], ansible_env(os.path.join(ROOT, '.cache', 'collections')),
                 timeout=1800)
    assert result.returncode == 0, result.stdout[-6000:]
    assert 'Running sanity test' in result.stdout
    assert 'ERROR' not in result.stdout
