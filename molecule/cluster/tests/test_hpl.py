"""HPL in arm64 containers, built from source as the hpl user, or Debian's hpcc."""

import json
import re

BLAS = '/usr/lib/aarch64-linux-gnu/openblas-pthread/libblas.so.3'
# The loader may name /usr/lib as /lib (merged /usr).
SYSTEM_LIB = r'(/usr)?/lib/aarch64-linux-gnu/'


def method(host):
    return host.backend.get_hostname().split('-', 1)[1]


def test_architecture(host):
    assert host.system_info.arch == 'aarch64'


def test_source_build_belongs_to_the_hpl_user_and_links_the_choice(host):
    if method(host) != 'source':
        return
    xhpl = host.check_output('ls /home/hpl/hpl/hpl-*/bin/picluster/xhpl')
    binary = host.file(xhpl)
    assert binary.user == 'hpl' and binary.mode & 0o111
    libraries = host.check_output('ldd %s' % xhpl)
    assert '%s (' % BLAS in libraries  # by path (rpath), whatever the alternative says later
    assert re.search(r'libmpi\.so\.40 => %slibmpi\.so\.40' % SYSTEM_LIB, libraries)
    record = json.loads(host.file(xhpl.rsplit('/bin/', 1)[0] + '/picluster-build.json').content_string)
    assert record['mpi']['name'] == 'openmpi' and record['blas']['library'] == BLAS
    assert host.file(xhpl.rsplit('/bin/', 1)[0] + '/Make.picluster').contains('CC           = /usr/bin/mpicc.openmpi')


def test_xhpl_solves_a_small_problem(host):
    if method(host) != 'source':
        return
    xhpl = host.check_output('ls /home/hpl/hpl/hpl-*/bin/picluster/xhpl')
    # N=1000, NB=64, a 1 x 2 grid, HPL's default variant (WR11C2R4) and threshold.
    values = ['HPL.out', '6', '1', '1000', '1', '64', '0', '1', '1', '2', '16.0', '1', '2', '1', '4', '1', '2',
              '1', '1', '1', '1', '1', '1', '2', '64', '0', '0', '1', '8']
    hpl_dat = 'HPLinpack benchmark input file\nmolecule verify\n' + ''.join(v + '\n' for v in values)
    host.run("mkdir -p /tmp/xhpl-verify && chown hpl /tmp/xhpl-verify")
    host.run("su hpl -c \"printf '%s' > /tmp/xhpl-verify/HPL.dat\"" % hpl_dat.replace('\n', '\\n'))
    ran = host.run("su hpl -c 'cd /tmp/xhpl-verify && OPENBLAS_NUM_THREADS=1 mpirun -np 2 %s'" % xhpl)
    assert ran.rc == 0, ran.stderr
    assert 'PASSED' in ran.stdout and 'FAILED' not in ran.stdout


def test_hpcc_is_installed_and_uses_the_selected_blas(host):
    if method(host) != 'hpcc':
        return
    assert host.package('hpcc').is_installed
    libraries = host.check_output('ldd /usr/bin/hpcc')
    assert re.search(r'libblas\.so\.3 => %slibblas\.so\.3 ' % SYSTEM_LIB, libraries)
    assert host.check_output('readlink /etc/alternatives/libblas.so.3-aarch64-linux-gnu') == BLAS
    assert 'libmpi.so.40' in libraries
