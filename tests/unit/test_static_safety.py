"""What must hold of every role and playbook, read from their text: a role reads its own and
other roles' options typed (the role_options lookup), never raw; nothing turns off SSH host
key checking; nothing is made world-writable."""

import glob
import os
import re

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
JINJA = re.compile(r'\{\{(.*?)\}\}|\{%(.*?)%\}', re.S)
# Reads of option names that are not options: the tune role's own result and kept file,
# which hold benchmark_* settings as data.
NOT_READS = {
    ('roles/tune/tasks/confirm.yml', '_tune_result.vars.benchmark_hpl_dat'),
    ('roles/tune/tasks/confirm.yml', '_tune_result.vars.benchmark_nb'),
    ('roles/tune/tasks/main.yml', '_tune_kept.benchmark_nb'),
}


# A role's typed options (the role_options lookup's answer, kept as _<role>): an option
# named without the role's prefix, such as picluster_apt_lock_timeout, is read as
# _mpi.picluster_apt_lock_timeout.
TYPED = tuple('_%s.' % os.path.basename(os.path.dirname(os.path.dirname(path)))
              for path in glob.glob(os.path.join(ROOT, 'roles', '*', 'meta', 'argument_specs.yml')))


def option_names():
    names = set()
    for spec in glob.glob(os.path.join(ROOT, 'roles', '*', 'meta', 'argument_specs.yml')):
        with open(spec) as handle:
            for entry in yaml.safe_load(handle)['argument_specs'].values():
                names.update(entry.get('options') or {})
    return names


def role_files():
    """Every file a role runs or renders: not its defaults (where options are declared),
    its meta or its files."""
    for path in sorted(glob.glob(os.path.join(ROOT, 'roles', '*', '*', '**'), recursive=True)):
        relative = os.path.relpath(path, ROOT)
        if os.path.isfile(path) and relative.split(os.sep)[2] not in ('defaults', 'meta', 'files'):
            yield relative


CONDITIONS = ('when', 'that', 'failed_when', 'changed_when', 'until')


def conditions(data):
    """The bare Jinja expressions of a loaded YAML file: when, that, failed_when ..."""
    if isinstance(data, list):
        for item in data:
            yield from conditions(item)
    elif isinstance(data, dict):
        for key, value in data.items():
            if key in CONDITIONS:
                yield from (value if isinstance(value, list) else [value])
            else:
                yield from conditions(value)


def expressions(relative, text):
    found = [a or b for a, b in JINJA.findall(text)]
    if relative.endswith('.yml'):
        found += [str(condition) for condition in conditions(yaml.safe_load(text)) if isinstance(condition, str)]
    return found


def raw_reads(relative, names):
    """(file, expression) for every option name read in a Jinja expression of the file (in
    braces, or a bare condition): as a variable (outside string literals), or by name from
    hostvars, a mapping, the vars lookup or an attribute map."""
    pattern = '|'.join(sorted(names, key=len, reverse=True))
    bare = re.compile(r"(?<![\w'\"])((?:[\w.]+\.)?(?:%s))\b" % pattern)
    by_name = re.compile(r"\[\s*['\"](%s)['\"]\s*\]|hostvars\s*,\s*['\"](%s)['\"]|"
                         r"lookup\(\s*['\"](?:ansible\.builtin\.)?vars['\"]\s*,\s*['\"](%s)['\"]|attribute=['\"](%s)['\"]"
                         % (pattern, pattern, pattern, pattern))
    with open(os.path.join(ROOT, relative), errors='replace') as handle:
        text = handle.read()
    found = []
    for expression in expressions(relative, text):
        found += [(relative, match.group(0)) for match in by_name.finditer(expression)]
        unquoted = re.sub(r"'[^']*'|\"[^\"]*\"", "''", expression)
        found += [(relative, match.group(1)) for match in bare.finditer(unquoted)
                  if not match.group(1).startswith(TYPED)]
    return [read for read in found if read not in NOT_READS]


def test_the_check_finds_a_raw_read(tmp_path):
    names = option_names()
    assert 'sd_image_user' in names and 'benchmark_group' in names
    reads = ["- debug: {msg: \"{{ hostvars[item].sd_image_user }}\"}",
             "- debug: {msg: \"{{ benchmark_group | default('cluster') }}\"}",
             "- debug: {msg: \"{{ hostvars[item]['sd_image_locale'] }}\"}",
             "- debug: {msg: \"{{ lookup('vars', 'benchmark_nb') }}\"}",
             "- debug: {msg: \"{{ nodes | map(attribute='sd_image_user') }}\"}",
             "- debug: {msg: x}\n  when: benchmark_per_node",
             "- assert: {that: [benchmark_max_n > 0]}",
             "- debug: {msg: \"{{ _benchmark.per_node }}\"}"]
    probe = tmp_path / 'probe.yml'
    probe.write_text('\n'.join(reads) + '\n')
    relative = os.path.relpath(str(probe), ROOT)
    assert len(raw_reads(relative, names)) == 7


def test_no_role_reads_an_option_raw():
    # -e benchmark_per_node=false is the string 'false', which Jinja finds true: a role
    # takes every option, its own or another role's, typed from the role_options lookup.
    names = option_names()
    reads = [read for relative in role_files() for read in raw_reads(relative, names)]
    assert reads == [], 'read raw, not through the role_options lookup: %s' % reads


CONTENT = ['roles/**/*', 'playbooks/**/*', 'molecule/**/*', 'site.yml', 'ansible.cfg', 'scripts/*', 'run', 'test',
           'bench', 'cluster', 'report', 'plugins/**/*.py']


def content_files():
    for pattern in CONTENT:
        for path in sorted(glob.glob(os.path.join(ROOT, pattern), recursive=True)):
            if os.path.isfile(path):
                yield path


FORBIDDEN = [
    (re.compile(r'''StrictHostKeyChecking[\s=:'"]*(no|off)\b''', re.I), 'host keys are checked, never skipped'),
    (re.compile(r'''UserKnownHostsFile[\s=:'"]*/dev/null''', re.I), 'host keys are kept, never thrown away'),
    (re.compile(r'''\b(ANSIBLE_)?host_key_checking\s*[:=]\s*['"]?(false|no|0)\b''', re.I), 'Ansible checks host keys'),
    (re.compile(r'''\bmode:\s*['"]?0?[0-7]?[0-7]{2}[2367]['"]?\s*$|\bchmod\s+(-R\s+)?0?[0-7]?[0-7]{2}[2367]\b|'''
                r'''\b(mode:\s*['"]?|chmod\s+(-R\s+)?)[ug]*[oa][ugoa]*[+=][rwxXst]*w''', re.M | re.I),
     'nothing is made world-writable'),
    (re.compile(r'--allow-run-as-root|OMPI_ALLOW_RUN_AS_ROOT'), 'MPI never runs as root'),
]


@pytest.mark.parametrize('text', ['StrictHostKeyChecking=no', '-o StrictHostKeyChecking no', 'StrictHostKeyChecking: "no"',
                                  'UserKnownHostsFile=/dev/null', 'ANSIBLE_HOST_KEY_CHECKING: "false"',
                                  'host_key_checking = False', 'mode: "0777"', 'mode: "1777"', "mode: '01777'",
                                  'mode: a+w', 'mode: o=rwx', 'chmod 1777 /x', 'chmod go+w /x', 'chmod -R a+rwx /x',
                                  'mpirun --allow-run-as-root'])
def test_the_safety_check_finds_each_way_to_turn_one_off(text):
    assert any(forbidden.search(text) for forbidden, _why in FORBIDDEN)


@pytest.mark.parametrize('text', ['mode: "0644"', 'mode: "0755"', 'mode: "0600"', 'mode: u+w', 'chmod 0700 /x',
                                  'host_key_checking = True', 'StrictHostKeyChecking=yes'])
def test_the_safety_check_lets_safe_settings_be(text):
    assert not any(forbidden.search(text) for forbidden, _why in FORBIDDEN)


@pytest.mark.parametrize('forbidden, why', FORBIDDEN)
def test_nothing_turns_a_safety_off(forbidden, why):
    found = []
    for path in content_files():
        with open(path, errors='replace') as handle:
            text = handle.read()
        found += ['%s: %s' % (os.path.relpath(path, ROOT), match.group(0).strip()) for match in forbidden.finditer(text)]
    assert found == [], '%s: %s' % (why, found)


def runs_hpl(play):
    """Whether a play runs HPL across the cluster, through the benchmark role or a role on it."""
    names = [role if isinstance(role, str) else role.get('role', role.get('name', '')) for role in play.get('roles', [])]
    names += [task.get('ansible.builtin.include_role', task.get('ansible.builtin.import_role', {})).get('name', '')
              for task in play.get('tasks', [])]
    return any(name.split('.')[-1] in ('benchmark', 'tune', 'bench') for name in names)


def test_the_play_check_finds_a_play_that_runs_hpl():
    assert runs_hpl({'roles': [{'role': 'picluster.hpl.tune'}]})
    assert runs_hpl({'tasks': [{'ansible.builtin.include_role': {'name': 'picluster.hpl.benchmark'}}]})
    assert not runs_hpl({'roles': ['picluster.hpl.mpi']})


@pytest.mark.parametrize('path', sorted(glob.glob(os.path.join(ROOT, 'playbooks', '*.yml')) + [os.path.join(ROOT, 'site.yml')]
                                        + [os.path.join(ROOT, 'molecule', 'cluster', 'lose_a_node.yml')]))
def test_no_play_that_runs_hpl_ends_every_node_on_one_fault(path):
    # any_errors_fatal on such a play ends the head node too when one node is lost, before
    # it records what was measured; the cluster scenario's lost node proves the play without.
    with open(path) as handle:
        plays = [play for play in yaml.safe_load(handle) or [] if isinstance(play, dict)]
    assert not [play['name'] for play in plays if runs_hpl(play) and play.get('any_errors_fatal')]
