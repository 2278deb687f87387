/**
 * What the benchmarks read from /proc (Linux) about the processes wrangler dev started:
 * wrangler runs detached, so its pid is the process group of workerd and everything
 * else it spawned, and one scan of /proc finds them all.
 */
import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second for /proc/<pid>/stat's utime and stime (USER_HZ: 100 on Linux). */
const TICKS_PER_SECOND = 100;

type Member = { pid: number; name: string; stat: string[] };

/** Every live process of a process group, with the fields of its stat after `comm`. */
function groupMembers(pgid: number): Member[] {
  const members: Member[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const raw = readFileSync(`/proc/${entry}/stat`, "utf8");
      // comm may hold spaces; it ends at the last ")". After it: state ppid pgrp ...
      const stat = raw.slice(raw.lastIndexOf(")") + 2).split(" ");
      if (Number(stat[2]) !== pgid) continue;
      members.push({ pid: Number(entry), name: raw.slice(raw.indexOf("(") + 1, raw.lastIndexOf(")")), stat });
    } catch {
      /* the process went away while being read */
    }
  }
  return members;
}

/** VmRSS of every process in a process group (wrangler's node, workerd, their helpers). */
export function groupRss(pgid: number): { totalMb: number; processes: string } {
  const parts: string[] = [];
  let totalKb = 0;
  for (const { pid, name } of groupMembers(pgid)) {
    try {
      const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
      totalKb += kb;
      parts.push(`${name} ${(kb / 1024).toFixed(0)} MB`);
    } catch {
      /* the process went away while being read */
    }
  }
  return { totalMb: totalKb / 1024, processes: parts.join(", ") };
}

/**
 * CPU time (user + system, ms) each process of the group has used so far, summed by
 * process name ("workerd", "node", ...). utime and stime are stat fields 14 and 15,
 * 11th and 12th after comm; resolution one tick (10 ms).
 */
export function groupCpuMs(pgid: number): Map<string, number> {
  const byName = new Map<string, number>();
  for (const { name, stat } of groupMembers(pgid)) {
    const ms = ((Number(stat[11]) + Number(stat[12])) * 1000) / TICKS_PER_SECOND;
    byName.set(name, (byName.get(name) ?? 0) + ms);
  }
  return byName;
}
