#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: picluster.hpl contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: atlas_build
short_description: Build ATLAS tuned on the node, in a unit that outlives the connection
version_added: 0.2.0
description:
  - Names what a tuned ATLAS build holds for on this node (the cache key of
    M(picluster.hpl.atlas_build)'s O(state=query)), starts the build script O(script) in a
    transient systemd unit (O(state=started)), and waits for it while it runs
    (O(state=finished)).
  - The build runs detached, with its log on the node; a play that is interrupted and run
    again finds the unit still running and waits for it again, or finds what it left.
  - One build at a time on a node, in the unit C(picluster-atlas-build.service).
  - The picluster.hpl.blas role uses it for C(blas_atlas_build=tuned); it installs nothing.
author:
  - picluster.hpl developers (@picluster-hpl)
attributes:
  check_mode:
    support: partial
    details: O(state=query) and O(state=finished) answer as they would; O(state=started) says whether it would start a build, and starts none.
    description: Nothing on the node changes in check mode.
  diff_mode:
    support: none
    description: The build's files are its own; no diff is shown.
options:
  state:
    description:
      - C(query) reads the key and what the node holds for it; C(started) starts the build
        unless one runs (then it re-attaches); C(finished) waits up to O(wait) seconds for the
        running build and says where it is.
    type: str
    choices: [query, started, finished]
    default: query
  dir:
    description: Where each key's build keeps its log, status and package, in a directory named after the key.
    type: path
    default: /var/lib/picluster-hpl/atlas
  key:
    description: The build's key, from O(state=query). Required for C(started) and C(finished).
    type: str
  library:
    description:
      - ATLAS's C(libblas.so.3), whose checksum says whether the tuned build O(marker) names
        is what the node runs (a generic package reinstalled since is not taken for it).
    type: path
  marker:
    description: Where the blas role records the tuned build it installed (key, build date, the library's checksum).
    type: path
    default: /var/lib/picluster-hpl/atlas-tuned.json
  script:
    description: The build script the unit runs (the blas role's C(picluster-atlas-build)).
    type: path
    default: /usr/local/libexec/picluster-hpl/atlas-build
  environment:
    description: What the build script reads (C(ATLAS_VERSION), C(ATLAS_USER), ...); C(ATLAS_WORK) is set here.
    type: dict
    default: {}
  wait:
    description: Seconds O(state=finished) waits for the build before it returns with C(running=true).
    type: int
    default: 60
  expected:
    description: Seconds the build is expected to take (this board model's last build), for the progress line.
    type: float
'''

EXAMPLES = r'''
- name: Name the build
  picluster.hpl.atlas_build:
  register: atlas

- name: Start it, or re-attach to the one running
  picluster.hpl.atlas_build:
    state: started
    key: "{{ atlas.key }}"
    environment: {ATLAS_VERSION: "{{ atlas.version }}", ATLAS_USER: picluster-atlas}

- name: Wait for it, a line a minute
  picluster.hpl.atlas_build:
    state: finished
    key: "{{ atlas.key }}"
  register: build
  until: not build.running
  retries: 720
  delay: 0
'''

RETURN = r'''
key:
  description: What a tuned build holds for (M(picluster.hpl.atlas_build) O(state=query)).
  returned: always
  type: str
  sample: arm64-bookworm-atlas3.10.3-13-arm-0x41-0xd08
parts:
  description: The key's parts, C(cpu), C(arch), C(release) and C(version).
  returned: with O(state=query)
  type: dict
version:
  description: The ATLAS package version the key holds for (the installed libatlas3-base's).
  returned: with O(state=query)
  type: str
source_version:
  description: The version of the source package it was built from, which C(apt-get source) asks for.
  returned: with O(state=query)
  type: str
previous_reason:
  description: With O(state=started), why the last build failed when it ended while no play waited for it; its log is kept as C(build.log.1).
  returned: with O(state=started)
  type: str
installed:
  description: The tuned build the node runs (O(marker)'s C(key), C(built), C(node)), or null.
  returned: with O(state=query)
  type: dict
running:
  description: Whether the build unit runs (for this key, or C(running_key)'s).
  returned: always
  type: bool
running_key:
  description: The key of the build the unit runs, or null.
  returned: always
  type: str
attached:
  description: O(state=started) found the build running and started none (nor does it when C(deb) says the last one ended well).
  returned: with O(state=started)
  type: bool
started:
  description: When the build started (seconds since the epoch), or null.
  returned: always
  type: int
elapsed:
  description: Seconds since it started, or null.
  returned: always
  type: int
stage:
  description: How far it has come, in words (the build step, and ATLAS's own stage).
  returned: always
  type: str
progress:
  description: One line for a build still running (the hpl_results callback shows it on every try).
  returned: with O(state=finished)
  type: str
status:
  description: What the last build for this key left, C(result) (success or failed), C(rc), C(deb), C(finished); or null.
  returned: always
  type: dict
reason:
  description: Why the last build failed (ATLAS's own reason when it gave one), or null.
  returned: always
  type: str
log:
  description: The build's log on the node.
  returned: always
  type: str
deb:
  description: The built libatlas3-base package on the node, after a successful build; else null.
  returned: always
  type: str
'''

import glob
import hashlib
import json
import os
import re
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.picluster.hpl.plugins.module_utils import atlas

UNIT = 'picluster-atlas-build.service'


def read(path, default=None):
    try:
        with open(path) as handle:
            return handle.read()
    except (IOError, OSError):
        return default


def command(module, argv):
    rc, out, err = module.run_command(argv)
    if rc != 0:
        module.fail_json(msg='%s failed (exit %d): %s' % (' '.join(argv), rc, (err or out).strip()))
    return out.strip()


def node_key(module):
    try:
        cpu = atlas.cpu_id(read('/proc/cpuinfo', ''))
    except ValueError as exc:
        module.fail_json(msg='atlas_build: %s' % exc)
    arch = command(module, ['dpkg', '--print-architecture'])
    release = dict(line.split('=', 1) for line in read('/etc/os-release', '').splitlines()
                   if '=' in line).get('VERSION_CODENAME', '').strip('"')
    rc, versions, dummy = module.run_command(['dpkg-query', '--showformat=${Version} ${source:Version}', '--show',
                                              'libatlas3-base'])
    if rc != 0 or len(versions.split()) != 2:
        module.fail_json(msg='atlas_build: libatlas3-base is not installed: install the generic package first')
    version, source = versions.split()
    parts = dict(cpu=cpu, arch=arch, release=release or 'unknown', version=version)
    return atlas.cache_key(**parts), parts, source


def installed(params):
    """The tuned build O(marker) records, when the library is still the one it installed."""
    record = read(params['marker'])
    if not record or not params['library']:
        return None
    try:
        with open(os.path.realpath(params['library']), 'rb') as handle:
            checksum = hashlib.sha256(handle.read()).hexdigest()
        record = json.loads(record)
    except (IOError, OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get('library_sha256') != checksum:
        return None
    return dict((name, record.get(name)) for name in ('key', 'built', 'node'))


def unit(module):
    """Whether the build unit runs, and the key of the build it runs."""
    dummy, out, dummy = module.run_command(['systemctl', 'show', '--property=ActiveState', '--property=Environment', UNIT])
    fields = dict(line.split('=', 1) for line in out.splitlines() if '=' in line)
    running = fields.get('ActiveState') in ('active', 'activating', 'deactivating', 'reloading')
    work = [word.split('=', 1)[1] for word in fields.get('Environment', '').split() if word.startswith('ATLAS_WORK=')]
    return running, (os.path.basename(work[0]) if running and work else None)


def where(params, key, running=False):
    """What the node holds for ``key``: the build's state, as the module returns it."""
    work = os.path.join(params['dir'], key)
    log = read(os.path.join(work, 'build.log'), '')
    started = read(os.path.join(work, 'started'))
    started = int(started) if started and started.strip().isdigit() else None
    try:
        status = json.loads(read(os.path.join(work, 'status.json')) or 'null')
    except ValueError:
        status = None
    failed = not running and started is not None and (not status or status.get('result') != 'success')
    deb = os.path.join(work, status['deb']) if not failed and status and status.get('deb') else None
    return dict(key=key, log=os.path.join(work, 'build.log'), started=started,
                elapsed=int(time.time() - started) if started else None, stage=atlas.stage(log),
                status=status, reason=atlas.ended_reason(status, log) if failed else None,
                deb=deb if deb and os.path.exists(deb) else None)


def start(module, params):
    key = params['key']
    work = os.path.join(params['dir'], key)
    if os.path.exists(os.path.join(work, 'build.log')):
        os.rename(os.path.join(work, 'build.log'), os.path.join(work, 'build.log.1'))
    for name in ['status.json', 'started'] + glob.glob(os.path.join(work, '*.deb')):
        path = os.path.join(work, name)
        if os.path.exists(path):
            os.remove(path)
    if not os.path.isdir(work):
        os.makedirs(work, 0o755)
    with open(os.path.join(work, 'started'), 'w') as handle:
        handle.write('%d\n' % time.time())
    environment = dict(params['environment'], ATLAS_WORK=work)
    log = os.path.join(work, 'build.log')
    argv = ['systemd-run', '--unit=' + UNIT, '--collect', '--description=ATLAS tuned build (picluster.hpl)',
            '--property=StandardOutput=append:' + log, '--property=StandardError=append:' + log]
    argv += ['--setenv=%s=%s' % (name, value) for name, value in sorted(environment.items())]
    command(module, argv + ['/bin/bash', params['script']])


def main():
    module = AnsibleModule(
        argument_spec=dict(state=dict(type='str', choices=['query', 'started', 'finished'], default='query'),
                           dir=dict(type='path', default='/var/lib/picluster-hpl/atlas'),
                           key=dict(type='str', no_log=False),
                           library=dict(type='path'),
                           marker=dict(type='path', default='/var/lib/picluster-hpl/atlas-tuned.json'),
                           script=dict(type='path', default='/usr/local/libexec/picluster-hpl/atlas-build'),
                           environment=dict(type='dict', default={}),
                           wait=dict(type='int', default=60),
                           expected=dict(type='float')),
        required_if=[('state', 'started', ['key']), ('state', 'finished', ['key'])],
        supports_check_mode=True,
    )
    params = module.params
    running, running_key = unit(module)
    if params['state'] == 'query':
        key, parts, source = node_key(module)
        module.exit_json(changed=False, parts=parts, version=parts['version'], source_version=source,
                         installed=installed(params),
                         running=running, running_key=running_key, **where(params, key, running and running_key == key))
    key = params['key']
    if not re.match(r'^[A-Za-z0-9.+_-]+$', key) or key.startswith('.'):
        module.fail_json(msg='atlas_build: %r is no key of picluster.hpl.atlas_build (state=query gives it)' % key)
    if running and running_key != key:
        module.fail_json(msg='atlas_build: the build of %s runs on this node (%s); wait for it to end, or stop it '
                             '(systemctl stop %s)' % (running_key, UNIT, UNIT), running_key=running_key)
    if params['state'] == 'started':
        # A build that ended while no play waited for it left its package: that is kept.
        found = where(params, key, running)
        starts = not running and not found['deb']
        if starts and not module.check_mode:
            start(module, params)
            found = dict(where(params, key, True), previous_reason=found['reason'])
        module.exit_json(changed=starts, attached=running, running=running or starts,
                         running_key=key if running or starts else None, **found)
    deadline = time.time() + max(params['wait'], 0)
    while running and time.time() < deadline:
        time.sleep(min(2, max(deadline - time.time(), 0)))
        running = unit(module)[0]
    found = where(params, key, running)
    progress = atlas.progress_text(found['stage'], found['elapsed'] or 0, params['expected']) if running else None
    module.exit_json(changed=False, running=running, running_key=key if running else None, progress=progress, **found)


if __name__ == '__main__':
    main()
