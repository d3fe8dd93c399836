/**
 * Helpers shared by the benchmark drivers: Debian's chromium through the
 * ui-tests' playwright-core (never a downloaded browser), and memory readings
 * of the browser's processes from /proc.
 */
import * as fs from 'fs';
import { createRequire } from 'module';
import * as path from 'path';
import { fileURLToPath } from 'url';

export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(HERE, '..');

/** playwright-core, as installed for the UI tests. */
export function playwright() {
  const require = createRequire(path.join(REPO, 'ui-tests', 'package.json'));
  return require('playwright-core');
}

/** Launch headless Debian chromium. */
export async function launchChromium(extraArgs = []) {
  const { chromium } = playwright();
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
      ...extraArgs
    ]
  });
}

/** Map pid → ppid over /proc. */
function parents() {
  const map = new Map();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) {
      continue;
    }
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid ...; comm may contain spaces or parentheses.
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      map.set(Number(entry), Number(rest[1]));
    } catch {
      // The process ended.
    }
  }
  return map;
}

/** Every descendant of `root`. */
export function descendants(root = process.pid) {
  const map = parents();
  const children = new Map();
  for (const [pid, ppid] of map) {
    if (!children.has(ppid)) {
      children.set(ppid, []);
    }
    children.get(ppid).push(pid);
  }
  const out = [];
  const stack = [...(children.get(root) ?? [])];
  while (stack.length) {
    const pid = stack.pop();
    out.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** VmRSS and VmHWM (peak RSS) of a process in bytes, and its type. */
export function processMemory(pid) {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    const kb = key => {
      const m = status.match(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm'));
      return m ? Number(m[1]) * 1024 : 0;
    };
    const type = (cmd.match(/--type=([a-z-]+)/) || [null, 'browser'])[1];
    return {
      pid,
      type,
      rss: kb('VmRSS'),
      hwm: kb('VmHWM'),
      chromium: /chrom/.test(cmd)
    };
  } catch {
    return null;
  }
}

/** Memory of this process's chromium descendants. */
export function chromiumMemory() {
  return descendants()
    .map(processMemory)
    .filter(p => p && p.chromium);
}

/** A compact error string. */
export function describe(error) {
  return error && error.message ? error.message.split('\n')[0] : String(error);
}
