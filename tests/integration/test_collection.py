"""The collection as users meet it: docs, examples, the callback, a built and installed copy,
ansible-lint and ansible-test sanity."""

import glob
import json
import os
import shutil
import sys
import tarfile

import jsonschema
import pytest
import yaml

from helpers import (EXAMPLES_NOT_RUN, FIXTURES, LOCAL_INVENTORY, PLUGIN_DOCS, ROOT, ansible_env,
                     install_built_collection, run)
from ansible_collections.picluster.hpl.plugins.module_utils import results

pytestmark = pytest.mark.slow
SCHEMA = os.path.join(ROOT, 'schemas', 'hpl_results.schema.json')


def plugin_files():
    """{(kind, FQCN)} of every plugin file in the repository."""
    return set((kind, 'picluster.hpl.' + os.path.splitext(os.path.basename(path))[0])
               for kind, pattern in PLUGIN_DOCS.items()
               for path in glob.glob(os.path.join(ROOT, 'plugins', pattern)) if not path.endswith('__init__.py'))


def plugin_list(env):
    """{(kind, FQCN)} of every plugin that ansible-doc --list finds in the collection."""
    listed = set()
    for kind in PLUGIN_DOCS:
        result = run(['ansible-doc', '--list', '--json', '-t', kind, 'picluster.hpl'], env)
        assert result.returncode == 0, result.stdout
        listed.update((kind, name) for name in json.loads(result.stdout))
    return listed


def plugin_docs(env):
    docs = {}
    by_kind = {}
    for kind, name in plugin_list(env):
        by_kind.setdefault(kind, []).append(name)
    for kind, names in sorted(by_kind.items()):
        result = run(['ansible-doc', '--json', '-t', kind] + sorted(names), env)
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
    env = ansible_env(collections_dir)
    assert plugin_list(env) == plugin_files()
    docs = plugin_docs(env)
    assert len(docs) == len(plugin_files())
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


def test_without_the_callback_the_document_is_written_where_documented(collections_dir, tmp_path):
    """hpl_document writes the run itself when the callback is off: into results_dir, which
    is relative to the ansible.cfg that sets it, or to the current directory from the
    environment; and it says so first."""
    config_dir, work_dir = tmp_path / 'project', tmp_path / 'elsewhere'
    config_dir.mkdir()
    work_dir.mkdir()
    (config_dir / 'ansible.cfg').write_text('[defaults]\n[picluster_hpl]\nresults_dir = saved\n')
    (work_dir / 'inventory.yml').write_text(LOCAL_INVENTORY)
    playbook = work_dir / 'document.yml'
    playbook.write_text(yaml.safe_dump([{'hosts': 'cluster', 'gather_facts': True, 'tasks': [
        {'picluster.hpl.hpl_document': None},
        {'picluster.hpl.hpl_document': {'run': {
            'output': "{{ lookup('ansible.builtin.file', '%s') }}" % os.path.join(FIXTURES, 'hpl', 'single_passed.out'),
            'hpl_dat': {'ns': [4032], 'nbs': [192], 'grids': [[1, 2]]}}}, 'register': 'made'},
        {'ansible.builtin.debug': {'msg': '{{ made.headline }}'}}]}]))
    for env_dir, where in ((None, config_dir / 'saved'), ('relative', work_dir / 'relative')):
        env = ansible_env(collections_dir, config=str(config_dir / 'ansible.cfg'))
        env.pop('PICLUSTER_HPL_RESULTS_DIR', None)
        if env_dir:
            env['PICLUSTER_HPL_RESULTS_DIR'] = env_dir
        result = run(['ansible-playbook', '-i', 'inventory.yml', str(playbook)], env, cwd=work_dir)
        assert result.returncode == 0, result.stdout
        assert 'The picluster.hpl.hpl_results callback is not enabled' in result.stdout
        assert 'writes its results into %s itself' % where in result.stdout
        (document,) = load_documents(where)
        assert document['hpl_dat']['nbs'] == [192] and document['best']['gflops'] == 74.16
        assert 'HPL PASSED: 74.16 GFLOPS' in result.stdout


def test_built_collection_installs_and_works_by_fqcn(tmp_path):
    tarball, installed = install_built_collection(tmp_path)
    with tarfile.open(tarball) as archive:
        names = set(archive.getnames())
    for wanted in ('data/top500_rmax_1993_2014.csv', 'schemas/hpl_results.schema.json',
                   'plugins/module_utils/hpl_output.py', 'plugins/filter/top500_rank.yml', 'MANIFEST.json',
                   'playbooks/site.yml', 'roles/pxe_server/meta/argument_specs.yml', 'changelogs/changelog.yaml'):
        assert wanted in names
    # What an installed user runs and reads, and nothing of the repository's own tooling.
    assert set(n.split('/')[0] for n in names) == {
        'MANIFEST.json', 'FILES.json', 'README.md', 'CHANGELOG.md', 'requirements.txt', 'changelogs', 'data', 'meta',
        'playbooks', 'plugins', 'roles', 'schemas'}
    assert not any(n.startswith('changelogs/fragments') for n in names)

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

    # JSON copied off a cluster, reported with Python alone from the installed collection.
    copied = tmp_path / 'copied'
    copied.mkdir()
    with open(os.path.join(FIXTURES, 'hpl', 'single_passed.out')) as handle:
        document = results.build_document({'output': handle.read(), 'hosts': ['pi1']}, {})
    (copied / ('hpl-%s.json' % document['id'])).write_text(json.dumps(document))
    made = run([sys.executable, '-m', 'ansible_collections.picluster.hpl.plugins.module_utils.report', 'copied'],
               dict(os.environ, PYTHONPATH=str(installed)), cwd=tmp_path)
    assert made.returncode == 0 and 'copied/report' in made.stdout, made.stdout
    with open(str(copied / 'report' / 'report.md')) as handle:
        assert '**%s GFLOPS on 1 node (pi1)' % document['best']['gflops'] in handle.read()
    # The page and its charts, the TOP500 one from the lists the installed collection ships.
    assert '<img src="charts/top500.png"' in (copied / 'report' / 'index.html').read_text()
    assert sorted(os.listdir(str(copied / 'report' / 'charts'))) == ['history.png', 'top500.png']
    with open(str(copied / 'report' / 'results.csv')) as handle:
        assert len(handle.read().splitlines()) == 1 + len(document['results'])
    # The same from the installed collection's playbook, into another directory; again, nothing changes.
    for changed in (1, 0):
        made = run(['ansible-playbook', 'picluster.hpl.report', '-e', 'report_dir=copied', '-e', 'report_out=shared'],
                   env, cwd=tmp_path)
        assert made.returncode == 0 and 'changed=%d' % changed in made.stdout, made.stdout
    with open(str(copied / 'report' / 'report.md')) as ours, open(str(tmp_path / 'shared' / 'report.md')) as theirs:
        assert ours.read() == theirs.read()


def test_changelog_fragments_lint_and_changelog_md_is_generated(tmp_path):
    """Every fragment is valid, and CHANGELOG.md is what changelogs/changelog.yaml makes."""
    lint = run(['antsibull-changelog', 'lint'], ansible_env(str(tmp_path)))
    assert lint.returncode == 0 and not lint.stdout.strip(), lint.stdout
    copy = tmp_path / 'collection'
    shutil.copytree(ROOT, str(copy), ignore=shutil.ignore_patterns('.cache', '.venv', '.git', 'results'))
    generate = run(['antsibull-changelog', 'generate'], ansible_env(str(tmp_path)), cwd=copy)
    assert generate.returncode == 0, generate.stdout
    with open(os.path.join(ROOT, 'CHANGELOG.md')) as ours, open(str(copy / 'CHANGELOG.md')) as generated:
        assert ours.read() == generated.read(), 'run antsibull-changelog generate and commit CHANGELOG.md'
    with open(os.path.join(ROOT, 'changelogs', 'changelog.yaml')) as handle:
        assert '0.1.0' in yaml.safe_load(handle)['releases']


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
