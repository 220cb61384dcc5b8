"""MPI on the arm64 nodes: the chosen implementation answers and owns the alternatives,
also on the node that switched from OpenMPI to MPICH with OpenMPI still installed."""


def test_architecture(host):
    assert host.system_info.arch == 'aarch64'


def test_alternatives_point_at_the_choice(host, choice):
    # One link down (linked_to would follow mpirun.openmpi on to orterun).
    assert host.check_output('readlink /etc/alternatives/mpirun') == '/usr/bin/mpirun.%s' % choice['mpi']
    assert host.check_output('readlink /etc/alternatives/mpi') == '/usr/bin/mpicc.%s' % choice['mpi']


def test_mpirun_answers_and_runs(host, choice):
    version = host.run('mpirun --version')
    assert version.rc == 0
    assert ('HYDRA' if choice['mpi'] == 'mpich' else 'Open MPI') in version.stdout + version.stderr
    # Two ranks as an unprivileged user; both implementations print each rank's host name.
    ran = host.run("su nobody -s /bin/sh -c 'cd /tmp && mpirun -np 2 hostname'")
    assert ran.rc == 0, ran.stderr
    assert ran.stdout.split() == [host.check_output('hostname')] * 2


def test_compiler_wrapper_builds_an_mpi_program_where_asked_for(host, choice):
    if not choice['compilers']:
        # MPICH's runtime alone (the cluster's OpenMPI compilers stay): no MPICH headers.
        assert not host.package('libmpich-dev').is_installed
        return
    source = ('#include <mpi.h>\n#include <stdio.h>\nint main(int c, char **v) { int r, n; MPI_Init(&c, &v);'
              ' MPI_Comm_rank(MPI_COMM_WORLD, &r); MPI_Comm_size(MPI_COMM_WORLD, &n);'
              ' printf("%d/%d\\n", r, n); MPI_Finalize(); return 0; }\n')
    host.run('mkdir -p -m 0755 /tmp/mpitest')  # nobody reads and runs it; writes nothing there
    host.run("printf '%%s' '%s' > /tmp/mpitest/hello.c" % source.replace("'", "'\\''"))
    built = host.run('mpicc -o /tmp/mpitest/hello /tmp/mpitest/hello.c')
    assert built.rc == 0, built.stderr
    ran = host.run("su nobody -s /bin/sh -c 'cd /tmp/mpitest && mpirun -np 2 ./hello'")
    assert sorted(ran.stdout.split()) == ['0/2', '1/2']
