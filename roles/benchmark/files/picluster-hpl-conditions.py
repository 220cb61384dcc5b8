# Copyright: picluster.hpl contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sample this node's conditions while HPL runs, until a stop file appears.

  python3 conditions.py --out FILE --stop FILE --user NAME [--interval 2]
                        [--max-seconds 3600] [--vcgencmd vcgencmd]

Every interval it reads the CPU frequency governor and the current frequency, the load
average, the SoC temperature (vcgencmd measure_temp on a Raspberry Pi, else the hottest
/sys/class/thermal zone), vcgencmd get_throttled where there is one, and the CPU time the
processes of this node (as its /proc shows them: a container's own) other than NAME's (the
HPL ranks and MPI's daemons) took. FILE is rewritten after every sample (atomically) with
the first and the last sample and what was seen in between, so that it is complete whenever
it is read; its "final" is true once the last sample is in. Raw values only: the benchmark role decodes and judges them on the
controller.
"""

import argparse
import glob
import json
import os
import pwd
import subprocess
import time

TICK = os.sysconf('SC_CLK_TCK')


def read(path):
    try:
        with open(path) as handle:
            return handle.read().strip()
    except (IOError, OSError):
        return None


def vcgencmd(command, *args):
    if not command:
        return None
    try:
        return subprocess.run([command] + list(args), check=False, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              universal_newlines=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def frequencies():
    """Each CPU's current frequency in MHz: cpufreq's, else /proc/cpuinfo's."""
    found = [int(value) / 1000.0 for value in (read(path) for path in glob.glob(
        '/sys/devices/system/cpu/cpu[0-9]*/cpufreq/scaling_cur_freq')) if value and value.isdigit()]
    if not found:
        for line in (read('/proc/cpuinfo') or '').splitlines():
            if line.lower().startswith('cpu mhz'):
                found.append(float(line.split(':')[1]))
    return found


def temperature(command):
    """(degrees C, where it came from), or (None, None)."""
    text = vcgencmd(command, 'measure_temp') or ''
    if text.startswith('temp='):
        try:
            return float(text[5:].split("'")[0]), 'vcgencmd'
        except ValueError:
            pass
    zones = [int(value) / 1000.0 for value in (read(path) for path in glob.glob('/sys/class/thermal/thermal_zone*/temp'))
             if value and value.lstrip('-').isdigit()]
    return (max(zones), 'thermal_zone') if zones else (None, None)


def throttled(command):
    text = vcgencmd(command, 'get_throttled') or ''
    try:
        return int(text.split('=')[1], 16) if text.startswith('throttled=') else None
    except ValueError:
        return None


# What each process is to the benchmark: its own (the benchmark user's: the ranks, MPI's
# daemons; and Slurm's, which start and serve a job's ranks as root), left out (this
# sampler, and the kernel's threads, which serve the ranks' messages as much as anything),
# or another's.
MINE, LEFT_OUT, OTHER = 'mine', 'left out', 'other'
LAUNCHERS = ('slurmstepd', 'slurmd', 'slurmctld')


def processes(uid):
    """{pid: (comm, CPU seconds, CPU seconds of its ended children, kind, parent's pid, start
    time)} of every process this node's /proc shows: the node's own, also in a container,
    whose /proc/stat would count the whole host."""
    found, me = {}, os.getpid()
    for stat in glob.glob('/proc/[0-9]*/stat'):
        try:
            with open(stat, 'rb') as handle:
                text = handle.read().decode('utf-8', 'replace')
            owner = os.stat(os.path.dirname(stat)).st_uid
            comm, fields = text[text.index('(') + 1:text.rindex(')')], text[text.rindex(')') + 2:].split()
            pid, parent = int(os.path.basename(os.path.dirname(stat))), int(fields[1])
            cpu, children = int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14])
            started = int(fields[19])
        except (IOError, OSError, ValueError, IndexError):
            continue
        kind = MINE if owner == uid or comm in LAUNCHERS else LEFT_OUT if pid in (me, 2) or parent == 2 else OTHER
        found[pid] = (comm, cpu / float(TICK), children / float(TICK), kind, parent, started)
    return found


def steal_seconds():
    """CPU seconds the hypervisor took from this machine since boot."""
    fields = [int(value) for value in read('/proc/stat').splitlines()[0].split()[1:]]
    return (fields + [0] * 8)[7] / float(TICK)


def sample(command):
    governors = sorted(set(read(path) for path in glob.glob(
        '/sys/devices/system/cpu/cpu[0-9]*/cpufreq/scaling_governor')) - {None})
    freqs = frequencies()
    temp, source = temperature(command)
    return {'time': round(time.time(), 2), 'governors': governors,
            'freq_mhz': [min(freqs), max(freqs)] if freqs else None,
            'load': [float(value) for value in (read('/proc/loadavg') or '0 0 0').split()[:3]],
            'temp_c': temp, 'temp_source': source, 'throttled': throttled(command)}


class Watch(object):
    """What the samples saw, as the file holds it."""

    def __init__(self, uid, command):
        self.uid, self.command = uid, command
        self.summary = {'samples': 0, 'before': None, 'after': None, 'governors': [], 'freq_mhz': None,
                        'temp_c_max': None, 'throttled_any': 0, 'load_max': 0.0, 'other_cpu_seconds': 0.0,
                        'measured_seconds': 0.0, 'steal_cpu_seconds': 0.0, 'other_top': {}}
        self.procs, self.steal, self.last = processes(uid), steal_seconds(), time.time()

    def take(self):
        now = sample(self.command)
        summary = self.summary
        summary['samples'] += 1
        summary['before'] = summary['before'] or now
        summary['after'] = now
        summary['governors'] = sorted(set(summary['governors']) | set(now['governors']))
        if now['freq_mhz']:
            low, high = summary['freq_mhz'] or now['freq_mhz']
            summary['freq_mhz'] = [min(low, now['freq_mhz'][0]), max(high, now['freq_mhz'][1])]
        if now['temp_c'] is not None:
            summary['temp_c_max'] = max(summary['temp_c_max'] or now['temp_c'], now['temp_c'])
        # The state-now bits of every sample (the since-boot ones are in before and after).
        summary['throttled_any'] |= (now['throttled'] or 0) & 0xffff
        summary['load_max'] = max(summary['load_max'], now['load'][0])
        self._others(now['time'])

    def _others(self, when):
        """Add the CPU time other processes took since the last sample while HPL ran (see
        ``took``). Only intervals in which the benchmark user's processes were busy count
        (HPL running, not yet started or ended: its ranks spin even while they wait for a
        message, so a twentieth of a core is a rank that others crowd out), and none in
        which one of them ended, since its parent then gets its time."""
        procs, steal = processes(self.uid), steal_seconds()
        before = self.procs
        # A process is the one seen before if its pid and start time are.
        same = dict((pid, before[pid]) for pid, now in procs.items() if pid in before and before[pid][5] == now[5])
        gone = dict((pid, old) for pid, old in before.items() if pid not in same)
        mine = sum(now[1] - (same[pid][1] if pid in same else 0) for pid, now in procs.items() if now[3] == MINE)
        interval = when - self.last
        if not any(old[3] == MINE for old in gone.values()) and self.summary['samples'] > 1 and mine >= 0.05 * interval:
            took = self.took(procs, same, gone)
            self.summary['other_cpu_seconds'] += max(0.0, sum(took.values()))
            self.summary['steal_cpu_seconds'] += steal - self.steal
            self.summary['measured_seconds'] += interval
            top = self.summary['other_top']
            for pid, seconds in took.items():
                if seconds > 0:
                    top[procs[pid][0]] = top.get(procs[pid][0], 0.0) + seconds
        self.procs, self.steal, self.last = procs, steal, when

    @staticmethod
    def took(procs, same, gone):
        """{pid: CPU seconds} each other process took since the last sample: its own, and
        that of its children which ended since (a process's time reaches the first live
        ancestor's count of its children when it ends), less what an ended process was
        already counted for. An ancestor outside the node's view (a container's exec'd
        processes have none) or not another's does not pass it on: nothing comes off."""
        took = {}
        for pid, now in procs.items():
            if now[3] == OTHER:
                old = same.get(pid)
                took[pid] = now[1] + now[2] - (old[1] + old[2] if old else 0.0)
        for old in gone.values():
            reaper = old[4]
            while reaper in gone:  # ended too (a pid taken again is another process)
                reaper = gone[reaper][4]
            if old[3] == OTHER and reaper in took and reaper in same:
                took[reaper] -= old[1] + old[2]
        return took

    def write(self, path, final):
        top = sorted(self.summary['other_top'].items(), key=lambda item: -item[1])[:3]
        document = dict(self.summary, final=final, other_top=[[comm, round(cpu, 2)] for comm, cpu in top if cpu > 0])
        temporary = path + '.tmp'
        with open(temporary, 'w') as handle:
            json.dump(document, handle)
        os.rename(temporary, path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', required=True)
    parser.add_argument('--stop', required=True)
    parser.add_argument('--user', required=True)
    parser.add_argument('--interval', type=float, default=2.0)
    parser.add_argument('--max-seconds', type=float, default=3600.0)
    parser.add_argument('--vcgencmd', default='vcgencmd')
    args = parser.parse_args()
    watch = Watch(pwd.getpwnam(args.user).pw_uid, args.vcgencmd)
    deadline = time.time() + args.max_seconds
    while True:
        try:
            watch.take()
        except (IOError, OSError, ValueError, KeyError, IndexError, TypeError) as error:
            # One bad sample must not end the watch: count it, and go on.
            watch.summary['errors'] = watch.summary.get('errors', 0) + 1
            watch.summary['last_error'] = str(error)
        final = os.path.exists(args.stop) or time.time() > deadline
        watch.write(args.out, final)
        if final:
            return 0
        end = time.time() + args.interval
        while time.time() < end and not os.path.exists(args.stop):
            time.sleep(0.1)


if __name__ == '__main__':
    raise SystemExit(main())
