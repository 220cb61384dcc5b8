"""HPL on the arm64 nodes: xhpl built from Debian's hpcc source on every node (the cluster
ran it), and on pi1 from a source tarball too, as the hpl user, linked to OpenMPI and to
OpenBLAS by path; Debian's hpcc where it was chosen."""

import json
import re

BLAS = '/usr/lib/aarch64-linux-gnu/openblas-pthread/libblas.so.3'
# The loader may name /usr/lib as /lib (merged /usr).
SYSTEM_LIB = r'(/usr)?/lib/aarch64-linux-gnu/'
# The scenario's build root (group_vars/cluster): one tree per source, a tarball's named
# after its sha256.
TREES = {'hpcc_source': '/var/cache/hpl/hpl-2.0-hpcc-*', 'source': '/var/cache/hpl/hpl-' + '[0-9a-f]' * 16}


def test_xhpl_built_where_chosen_and_only_there(host, choice):
    for method, tree in TREES.items():
        built = host.run('ls %s/bin/picluster/xhpl' % tree).stdout.split()
        if method not in choice['hpl']:
            assert built == []
            continue
        (xhpl,) = built
        binary = host.file(xhpl)
        assert binary.user == 'hpl' and binary.mode & 0o111
        libraries = host.check_output('ldd %s' % xhpl)
        assert '%s (' % BLAS in libraries  # by path (rpath), whatever the alternative says later
        assert re.search(r'libmpi\.so\.40 => %slibmpi\.so\.40' % SYSTEM_LIB, libraries)
        record = json.loads(host.file(xhpl.rsplit('/bin/', 1)[0] + '/picluster-build-picluster.json').content_string)
        assert record['mpi']['name'] == 'openmpi' and record['blas']['library'] == BLAS
        assert ('patch_sha256' in record) == (method == 'hpcc_source')
        assert host.file(xhpl.rsplit('/bin/', 1)[0] + '/Make.picluster').contains('CC           = /usr/bin/mpicc.openmpi')
        if method == 'source':
            assert_solves_a_small_problem(host, xhpl)


def assert_solves_a_small_problem(host, xhpl):
    # N=1000, NB=64, a 1 x 2 grid, HPL's default variant (WR11C2R4) and threshold.
    values = ['HPL.out', '6', '1', '1000', '1', '64', '0', '1', '1', '2', '16.0', '1', '2', '1', '4', '1', '2',
              '1', '1', '1', '1', '1', '1', '2', '64', '0', '0', '1', '8']
    hpl_dat = 'HPLinpack benchmark input file\nmolecule verify\n' + ''.join(v + '\n' for v in values)
    host.run("mkdir -p /tmp/xhpl-verify && chown hpl /tmp/xhpl-verify")
    host.run("su hpl -c \"printf '%s' > /tmp/xhpl-verify/HPL.dat\"" % hpl_dat.replace('\n', '\\n'))
    ran = host.run("su hpl -c 'cd /tmp/xhpl-verify && OPENBLAS_NUM_THREADS=1 mpirun -np 2 %s'" % xhpl)
    assert ran.rc == 0, ran.stderr
    assert 'PASSED' in ran.stdout and 'FAILED' not in ran.stdout


def test_hpcc_is_installed_where_chosen_and_uses_the_selected_blas(host, choice):
    assert host.package('hpcc').is_installed == ('hpcc' in choice['hpl'])
    if 'hpcc' not in choice['hpl']:
        return
    libraries = host.check_output('ldd /usr/bin/hpcc')
    # Through libblas.so.3, so the alternative (test_blas) decides which BLAS it runs.
    assert re.search(r'libblas\.so\.3 => %slibblas\.so\.3 ' % SYSTEM_LIB, libraries)
    assert 'libmpi.so.40' in libraries
