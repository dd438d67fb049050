/**
 * The machine line every benchmark prints first: onnxruntime's speed depends on the CPU's vector
 * extensions, and the machines benchmarks run on differ from one run to the next.
 */
import { existsSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';

/** The vector extensions that decide onnxruntime's speed. */
function simdFlags(): string {
  if (!existsSync('/proc/cpuinfo')) return 'flags unknown';
  const flags = /^flags\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.split(' ') ?? [];
  return flags.filter((flag) => /^(avx2|avx512(f|_vnni|_bf16)|avx_vnni|fma)$/.test(flag)).join(' ') || 'no AVX2';
}

/** `CPU: <model> x<cores> (<flags>); Node <version>` */
export function machineLine(): string {
  return `CPU: ${cpus()[0]?.model ?? 'unknown'} x${cpus().length} (${simdFlags()}); Node ${process.version}`;
}

/** CPU time of the whole machine in clock ticks (1/100 s) since boot: busy and total. */
export function machineTicks(): { busy: number; total: number } {
  const [user, nice, system, idle, iowait, irq, softirq, steal] = readFileSync('/proc/stat', 'utf8')
    .split('\n')[0]!
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const busy = user! + nice! + system! + irq! + softirq! + steal!;
  return { busy, total: busy + idle! + iowait! };
}

/** utime + stime of a process (all its threads), in clock ticks; 0 once it is gone. */
export function processTicks(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}
