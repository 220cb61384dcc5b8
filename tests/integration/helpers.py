"""Run the real ansible tools from the test venv against this collection."""

import glob
import json
import os
import subprocess
import sys

import jsonschema

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
FIXTURES = os.path.join(ROOT, 'tests', 'unit', 'fixtures')
# Where each kind of plugin documents itself: a filter in its <name>.yml, the others in
# their own .py file.
PLUGIN_DOCS = {'module': 'modules/*.py', 'filter': 'filter/*.yml', 'callback': 'callback/*.py', 'lookup': 'lookup/*.py'}
# Modules whose EXAMPLES need a Raspberry Pi OS image, an SD card or a Pi (tested in
# tests/integration/test_sd_image.py, molecule/netboot), an installed OpenBLAS (tested in
# tests/integration/test_site.py, after the blas role installed it), or a directory of
# results (hpl_report: test_collection.py, from the installed collection): not run as
# examples.
EXAMPLES_NOT_RUN = {'pi_image', 'sd_card_write', 'netboot_eeprom', 'blas_kernel', 'hpl_report', 'atlas_build'}
LOCAL_INVENTORY = (
    'cluster:\n  hosts:\n    localhost:\n      ansible_connection: local\n'
    '      ansible_python_interpreter: "{{ ansible_playbook_python }}"\n')


with open(os.path.join(ROOT, 'schemas', 'hpl_results.schema.json')) as handle:
    SCHEMA = json.load(handle)


def documents(directory):
    """The results documents in ``directory``, oldest first, each checked against the schema."""
    docs = []
    for path in sorted(glob.glob(os.path.join(str(directory), 'hpl-*.json'))):
        with open(path) as handle:
            doc = json.load(handle)
        jsonschema.validate(doc, SCHEMA)
        docs.append(doc)
    return docs


def key_value(value):
    """How a user writes ``value`` with -e key=value (which splits words at spaces)."""
    if isinstance(value, (list, dict)):
        return json.dumps(value, separators=(',', ':'))
    return str(value).lower() if isinstance(value, bool) else str(value)


def install_built_collection(tmp_path):
    """(tarball, collections path): the collection built with ansible-galaxy and installed
    into an empty collections path under ``tmp_path``, as a user installs it."""
    build = run(['ansible-galaxy', 'collection', 'build', '--output-path', str(tmp_path), ROOT],
                ansible_env(str(tmp_path / 'none')))
    assert build.returncode == 0, build.stdout
    (tarball,) = glob.glob(str(tmp_path / 'picluster-hpl-*.tar.gz'))
    installed = tmp_path / 'collections'
    install = run(['ansible-galaxy', 'collection', 'install', '--no-deps', '-p', str(installed), tarball],
                  ansible_env(str(installed)))
    assert install.returncode == 0, install.stdout
    return tarball, installed


def ansible_env(collections_dir, results_dir=None, config=None, **extra):
    env = dict(os.environ)
    env.update({
        'ANSIBLE_CONFIG': config or os.path.join(ROOT, 'ansible.cfg'),
        'ANSIBLE_COLLECTIONS_PATH': collections_dir,
        'ANSIBLE_NOCOLOR': '1',
        'ANSIBLE_FORCE_COLOR': '0',
        'PATH': BIN + os.pathsep + env.get('PATH', ''),
    })
    if results_dir:
        env['PICLUSTER_HPL_RESULTS_DIR'] = str(results_dir)
    env.update(extra)
    return env


def run(args, env, cwd=ROOT, timeout=900):
    command = [os.path.join(BIN, args[0])] + list(args[1:]) if os.path.exists(os.path.join(BIN, args[0])) else list(args)
    return subprocess.run(command, check=False, env=env, cwd=str(cwd), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=timeout)


def sh(*command, stdin=None, timeout=600):
    """A command's output; the test fails, with its output, when it fails."""
    done = subprocess.run(list(command), input=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=timeout, check=False)
    assert done.returncode == 0, (command, done.stdout[-3000:])
    return done.stdout


def on(node, script, stdin=None):
    """A shell script's output on a container node (``stdin`` fed to it, if given)."""
    return sh(*(['docker', 'exec'] + (['-i'] if stdin is not None else []) + [node, 'sh', '-ec', script]), stdin=stdin)


def nodes(*command):
    """scripts/nodes up ARCH NETWORK NODE..., or down NETWORK NODE..."""
    return sh(os.path.join(ROOT, 'scripts', 'nodes'), *command)


def vcgencmd_stand_in(directory, throttled, temp_c):
    """A stand-in for the Raspberry Pi firmware's vcgencmd that reports ``throttled`` (the
    get_throttled bits) and ``temp_c``, for machines that have none: its path."""
    path = os.path.join(str(directory), 'vcgencmd')
    with open(path, 'w') as handle:
        handle.write('#!/bin/sh\ncase "$1" in\n  get_throttled) echo throttled=0x%x ;;\n'
                     "  measure_temp) echo \"temp=%.1f'C\" ;;\n  *) exit 1 ;;\nesac\n" % (throttled, temp_c))
    os.chmod(path, 0o755)
    return path
