/** The scenario library shipped in simulations/scenarios/. */
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadScenario } from './scenario.js';
import type { Scenario } from './scenario.js';

const here = dirname(fileURLToPath(import.meta.url));

/**
 * Directory of the library: next to this file when run from the sources (tsx), or the
 * sources' copy when run from dist/ (tsc does not copy the JSON files).
 */
export const LIBRARY_DIR = [join(here, 'scenarios'), join(here, '..', '..', 'simulations', 'scenarios')].find((d) => existsSync(d)) ?? join(here, 'scenarios');

/** Paths of the library's scenario files, sorted. */
export function libraryFiles(): string[] {
  return readdirSync(LIBRARY_DIR)
    .filter((f) => f.endsWith('.json') || (f.endsWith('.ts') && !f.endsWith('.d.ts')) || f.endsWith('.js'))
    .sort()
    .map((f) => join(LIBRARY_DIR, f));
}

/** Every library scenario, validated. */
export async function loadLibrary(): Promise<{ file: string; scenario: Scenario }[]> {
  const out: { file: string; scenario: Scenario }[] = [];
  for (const file of libraryFiles()) out.push({ file, scenario: await loadScenario(file) });
  return out;
}
