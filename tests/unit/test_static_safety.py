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


def raw_reads(relative, names):
    """(file, expression) for every option name read in a Jinja expression of the file:
    as a variable (outside string literals), or by name from hostvars or a mapping."""
    pattern = '|'.join(sorted(names, key=len, reverse=True))
    bare = re.compile(r"(?<![\w'\"])((?:[\w.]+\.)?(?:%s))\b" % pattern)
    by_name = re.compile(r"\[\s*['\"](%s)['\"]\s*\]|hostvars\s*,\s*['\"](%s)['\"]" % (pattern, pattern))
    with open(os.path.join(ROOT, relative), errors='replace') as handle:
        text = handle.read()
    found = []
    for expression in (a or b for a, b in JINJA.findall(text)):
        found += [(relative, match.group(0)) for match in by_name.finditer(expression)]
        unquoted = re.sub(r"'[^']*'|\"[^\"]*\"", "''", expression)
        found += [(relative, match.group(1)) for match in bare.finditer(unquoted)
                  if not match.group(1).startswith(TYPED)]
    return [read for read in found if read not in NOT_READS]


def test_the_check_finds_a_raw_read(tmp_path):
    names = option_names()
    assert 'sd_image_user' in names and 'benchmark_group' in names
    reads = [("x", "{{ hostvars[item].sd_image_user }}"), ("x", "{{ benchmark_group | default('cluster') }}"),
             ("x", "{{ hostvars[item]['sd_image_locale'] }}")]
    probe = tmp_path / 'probe.yml'
    probe.write_text('\n'.join(text for _name, text in reads))
    relative = os.path.relpath(str(probe), ROOT)
    assert len(raw_reads(relative, names)) == 3


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


@pytest.mark.parametrize('forbidden, why', [
    (re.compile(r'StrictHostKeyChecking\s*=?\s*(no|off)\b', re.I), 'host keys are checked, never skipped'),
    (re.compile(r'UserKnownHostsFile\s*=?\s*/dev/null', re.I), 'host keys are kept, never thrown away'),
    (re.compile(r'^\s*host_key_checking\s*[:=]\s*(false|no|0)\b', re.I | re.M), 'Ansible checks host keys'),
    (re.compile(r'''\bmode:\s*['"]?0?[0-7]{2}[2367]['"]?\s*$|chmod\s+(-R\s+)?(0?[0-7]{2}[2367]|[ao]\+w)\b''', re.M),
     'nothing is made world-writable'),
    (re.compile(r'--allow-run-as-root|OMPI_ALLOW_RUN_AS_ROOT'), 'MPI never runs as root'),
])
def test_nothing_turns_a_safety_off(forbidden, why):
    found = []
    for path in content_files():
        with open(path, errors='replace') as handle:
            text = handle.read()
        found += ['%s: %s' % (os.path.relpath(path, ROOT), match.group(0).strip()) for match in forbidden.finditer(text)]
    assert found == [], '%s: %s' % (why, found)
