"""Run the real ansible tools from the test venv against this collection."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
FIXTURES = os.path.join(ROOT, 'tests', 'unit', 'fixtures')
# Where each kind of plugin documents itself: a filter in its <name>.yml, the others in
# their own .py file.
PLUGIN_DOCS = {'module': 'modules/*.py', 'filter': 'filter/*.yml', 'callback': 'callback/*.py', 'lookup': 'lookup/*.py'}
# Modules whose EXAMPLES need a Raspberry Pi OS image, an SD card or a Pi: documented and
# tested elsewhere (tests/integration/test_sd_image.py, molecule/netboot), not run as examples.
EXAMPLES_NOT_RUN = {'pi_image', 'sd_card_write', 'netboot_eeprom'}
LOCAL_INVENTORY = (
    'cluster:\n  hosts:\n    localhost:\n      ansible_connection: local\n'
    '      ansible_python_interpreter: "{{ ansible_playbook_python }}"\n')


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
