"""Every option of every role means the same from the inventory, -e key=value, -e '{json}'
and -e @file.yml: the values each role's first task reads (picluster.hpl.role_options), for
every option its argument spec declares, with a value of the declared type that is not its
default."""

import glob
import json
import os

import pytest
import yaml

from helpers import LOCAL_INVENTORY, ROOT, ansible_env, key_value, run

pytestmark = pytest.mark.slow
SPECS = dict((path.split(os.sep)[-3], yaml.safe_load(open(path))['argument_specs'])
             for path in sorted(glob.glob(os.path.join(ROOT, 'roles', '*', 'meta', 'argument_specs.yml'))))
# One value of each type, as the inventory (YAML) would hold it.
SAMPLES = {'bool': True, 'int': 7, 'float': 0.25, 'list': ['a b', 'c'], 'dict': {'k': 1, 'v': [2]},
           'path': '/srv/x', 'str': 'text', 'raw': 'raw'}


def sample(option):
    if option.get('choices'):
        return option['choices'][-1]
    value = SAMPLES[option.get('type', 'str')]
    if option.get('type') == 'bool' and option.get('default') is True:
        return False
    return value


def samples():
    """{option: value} for every option of every role."""
    return dict((name, sample(option)) for spec in SPECS.values() for entry in spec.values()
                for name, option in entry['options'].items())


def typed_by_roles(env, tmp_path, name, args, host_vars=None):
    """{role: typed options} as each role's first task reads them."""
    out = tmp_path / ('%s.json' % name)
    # sd_image_sha256 is the one option without a default.
    hosts = {'localhost': dict(host_vars or {'sd_image_sha256': '0' * 64}, ansible_connection='local',
                               ansible_python_interpreter='{{ ansible_playbook_python }}')}
    inventory = tmp_path / ('%s-inventory.yml' % name)
    inventory.write_text(yaml.safe_dump({'all': {'hosts': hosts}}))
    lookups = ', '.join("'%s': lookup('picluster.hpl.role_options', '%s')" % (role, role) for role in SPECS)
    playbook = tmp_path / 'typed.yml'
    playbook.write_text(yaml.safe_dump([{
        'hosts': 'localhost', 'gather_facts': False,
        'tasks': [{'ansible.builtin.copy': {'content': '{{ {%s} | to_json }}' % lookups, 'dest': str(out)}}]}]))
    result = run(['ansible-playbook', '-i', str(inventory), str(playbook)] + list(args), env)
    assert result.returncode == 0, result.stdout
    with open(str(out)) as handle:
        return json.load(handle), result.stdout


def test_every_option_is_the_same_from_every_source(tmp_path, collections_dir):
    env = ansible_env(collections_dir)
    values = samples()
    as_text = [arg for name, value in sorted(values.items()) for arg in ('-e', '%s=%s' % (name, key_value(value)))]
    vars_file = tmp_path / 'vars.yml'
    vars_file.write_text(yaml.safe_dump(values))
    sources = {
        'inventory': typed_by_roles(env, tmp_path, 'inventory', [], host_vars=values),
        'key=value': typed_by_roles(env, tmp_path, 'key-value', as_text),
        'json': typed_by_roles(env, tmp_path, 'json', ['-e', json.dumps(values)]),
        '@file': typed_by_roles(env, tmp_path, 'file', ['-e', '@%s' % vars_file]),
    }

    def short(role, name):  # the role's prefix left off; picluster_apt_lock_timeout has none
        return name[len(role) + 1:] if name.startswith(role + '_') else name

    expected = dict((role, dict((short(role, name), values[name]) for name in entry['options']))
                    for role, spec in SPECS.items() for entry in [spec['main']])
    for source, (typed, _output) in sources.items():
        assert typed == expected, source


def test_null_text_is_null_for_text_json_null_for_numbers_and_empty_text_an_empty_list(tmp_path, collections_dir):
    env = ansible_env(collections_dir)
    args = ['-e', '{"benchmark_max_seconds": null, "benchmark_nb": null}', '-e', 'benchmark_governor=~',
            '-e', 'sd_image_url=', '-e', 'benchmark_fail_on_residual=no', '-e', 'netboot_client_tftp_ip=null',
            '-e', 'benchmark_mpirun_args=']
    typed, _output = typed_by_roles(env, tmp_path, 'nulls', args)
    benchmark = typed['benchmark']
    assert (benchmark['max_seconds'], benchmark['nb'], benchmark['governor']) == (None, None, None)
    assert benchmark['fail_on_residual'] is False and benchmark['mpirun_args'] == []
    assert typed['sd_image']['url'] == '' and typed['netboot_client']['tftp_ip'] is None


def test_in_a_role_a_null_number_as_text_is_refused_before_anything_runs(tmp_path, collections_dir):
    """Ansible checks a role's arguments before its first task: the text null for a number
    is refused there, naming the option; JSON null passes and reaches the role typed."""
    env = ansible_env(collections_dir)
    inventory = tmp_path / 'inventory.yml'
    inventory.write_text(LOCAL_INVENTORY)
    playbook = tmp_path / 'benchmark.yml'
    playbook.write_text(yaml.safe_dump([{'hosts': 'cluster', 'gather_facts': False,
                                         'roles': ['picluster.hpl.benchmark']}]))
    refused = run(['ansible-playbook', '-i', str(inventory), str(playbook), '-e', 'benchmark_max_seconds=null'], env)
    assert refused.returncode != 0
    assert "argument 'benchmark_max_seconds' is of type str and we were unable to convert to float" in refused.stdout
    assert 'Read the options' not in refused.stdout
    passed = run(['ansible-playbook', '-i', str(inventory), str(playbook),
                  '-e', '{"benchmark_max_seconds": null}', '-e', 'benchmark_memory_fraction=0.5'], env)
    # Typed and checked: the role gets as far as asking for the install roles' facts.
    assert 'The picluster.hpl.mpi, blas and hpl roles must run first' in passed.stdout, passed.stdout[-3000:]
    assert 'benchmark_memory_fraction must be' not in passed.stdout


def test_a_value_of_the_wrong_type_is_refused_naming_the_option(tmp_path, collections_dir):
    env = ansible_env(collections_dir)
    playbook = tmp_path / 'wrong.yml'
    playbook.write_text(yaml.safe_dump([{'hosts': 'localhost', 'gather_facts': False, 'tasks': [
        {'ansible.builtin.debug': {'msg': "{{ lookup('picluster.hpl.role_options', 'benchmark') }}"}}]}]))
    result = run(['ansible-playbook', '-i', 'localhost,', '-c', 'local', str(playbook),
                  '-e', 'benchmark_max_n=12.5'], env)
    assert result.returncode != 0
    assert "benchmark_max_n" in result.stdout and 'cannot be converted to an int' in result.stdout


def test_a_near_miss_is_named_with_the_real_option_once(tmp_path, collections_dir):
    env = ansible_env(collections_dir)
    args = ['-e', 'hpl_memory_fraction=0.85', '-e', 'benchmark_maxseconds=60', '-e', 'mpi_zzz=1',
            '-e', 'hpl_node_ranks=2', '-e', 'other_setting=1']
    _typed, output = typed_by_roles(env, tmp_path, 'near', args)
    warnings = [line for line in output.splitlines() if 'no role of picluster.hpl reads it' in line]
    assert sorted(w.split('[WARNING]: ', 1)[1] for w in warnings) == [
        'benchmark_maxseconds is set, but no role of picluster.hpl reads it; did you mean benchmark_max_seconds?',
        'hpl_memory_fraction is set, but no role of picluster.hpl reads it; did you mean benchmark_memory_fraction?',
        'mpi_zzz is set, but no role of picluster.hpl reads it.',
    ]


@pytest.mark.parametrize('args,message', [
    (['-e', 'benchmark_memory_fraction=1.5'], 'benchmark_memory_fraction must be in (0, 0.95] (got 1.5)'),
    (['-e', 'benchmark_max_n=12.5'], "'benchmark_max_n'"),
    (['-e', 'hpl_install_method=source', '-e', 'hpl_user=root'], "hpl_user must be an unprivileged user's name, not root"),
    (['-e', '{"hpl_arch": "x y"}'], 'hpl_arch a name of letters, digits'),
    (['-e', 'mpi_compilers=maybe'], "'mpi_compilers'"),
    (['-e', 'benchmark_user=root'], "benchmark_user must be an unprivileged user's name, not root"),
    (['-e', 'benchmark_governor=performance; reboot'], "benchmark_governor a CPU frequency governor's name"),
    (['-e', 'benchmark_max_seconds=-5'], 'benchmark_max_seconds must be a positive number of seconds, or null (got -5.0)'),
    (['-e', 'benchmark_rpeak_gflops_per_core=-1'], 'benchmark_rpeak_gflops_per_core must be a positive number'),
    (['-e', '{"benchmark_mpirun_args": null}'], 'benchmark_mpirun_args must be a list'),
    (['-e', 'blas_openblas_coretype=Skylake-X'], 'blas_openblas_coretype must be auto, library or an OpenBLAS kernel'),
    (['-e', 'blas_atlas_build=tuned'], 'blas_atlas_build tuned builds ATLAS, so it needs blas_library atlas (got openblas)'),
    (['-e', 'bench_blas=atlas,mkl'], 'bench_blas each of openblas, blis, atlas and atlas-tuned at most once (got atlas, mkl)'),
])
def test_site_refuses_a_bad_option_of_any_role_before_anything_changes(tmp_path, collections_dir, args, message):
    """The benchmark runs last, but its options are checked first, with every other role's."""
    env = ansible_env(collections_dir, ANSIBLE_STDOUT_CALLBACK='ansible.posix.json')
    inventory = tmp_path / 'inventory.yml'
    inventory.write_text(LOCAL_INVENTORY)
    result = run(['ansible-playbook', '-i', str(inventory), 'site.yml'] + args, env)
    assert result.returncode != 0
    report = json.loads(result.stdout[result.stdout.index('{\n'):])
    ran = [(task['task']['name'].split(' : ', 1)[-1], outcome) for play in report['plays']
           for task in play['tasks'] for outcome in task['hosts'].values()]
    failed = [outcome['msg'] for _name, outcome in ran if outcome.get('failed')]
    assert len(failed) == 1 and message in failed[0], failed
    assert not any(outcome.get('changed') for _name, outcome in ran)
    assert set(name for name, _outcome in ran) <= {
        'Gathering Facts', 'Check every node of the cluster answered, before anything changes',
        'Check the options of every role before anything changes',
        'Read the options, typed as meta/argument_specs.yml declares them',
        'Check the options, typed as meta/argument_specs.yml declares them',
        "Read the options (not shown, for a URL's password)", "Check the user and the build's name",
        'Check the source settings', 'Check the benchmark user and the governor', 'Check the memory fraction',
        'Check the time budget', 'Check the HPL.dat lists', 'Check the peak and the mpirun arguments',
        'Check the kernel names', 'Check the time budget and the test size', 'Check the hpcc source URL',
        'Check how long a run may take and how often it is reported on', 'Check the memory budget and the repeats',
        'Check the ATLAS build options', 'Read bench_blas as a list of names'}
    assert [play['play']['name'] for play in report['plays']] == ['Prepare the nodes']


def test_another_nodes_options_are_typed_and_only_those_it_sets(tmp_path, collections_dir):
    # pxe_server reads each node's sd_image_* this way: "false" from the inventory of pi2
    # is false, a node that sets nothing gives nothing, and a bad value names the node.
    hosts = {'localhost': {'ansible_connection': 'local', 'ansible_python_interpreter': '{{ ansible_playbook_python }}'},
             'pi2': {'sd_image_ssh_password_auth': 'false', 'sd_image_user': 'hpc', 'sd_image_locale': None},
             'pi3': {}, 'pi4': {'sd_image_config_txt': 'not a mapping'}}
    inventory = tmp_path / 'inventory.yml'
    inventory.write_text(yaml.safe_dump({'all': {'hosts': hosts}}))
    out = tmp_path / 'nodes.json'
    playbook = tmp_path / 'nodes.yml'
    playbook.write_text(yaml.safe_dump([{'hosts': 'localhost', 'gather_facts': False, 'tasks': [
        {'ansible.builtin.copy': {'dest': str(out), 'content': "{{ {'pi2': lookup('picluster.hpl.role_options', 'sd_image', "
                                  "host='pi2'), 'pi3': lookup('picluster.hpl.role_options', 'sd_image', host='pi3')} "
                                  "| to_json }}"}},
        {'ansible.builtin.debug': {'msg': "{{ lookup('picluster.hpl.role_options', 'sd_image', host='pi4') }}"}}]}]))
    env = ansible_env(collections_dir)
    result = run(['ansible-playbook', '-i', str(inventory), str(playbook)], env)
    with open(str(out)) as handle:
        assert json.load(handle) == {'pi2': {'ssh_password_auth': False, 'user': 'hpc'}, 'pi3': {}}
    assert result.returncode != 0
    assert 'the options of the sd_image role for pi4' in result.stdout and 'config_txt' in result.stdout
