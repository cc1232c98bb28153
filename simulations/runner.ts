/**
 * The simulation runner: plays a scenario's timeline over the production Membership on
 * the simulated network, in virtual time, with one seed. The engine is
 * simulations/engine/ (one engine for the simulated and the real-process backend); this
 * module keeps the entry point and the result types where their users import them.
 */
export { runScenario } from './engine/simulated.js';
export type { SimRunOptions as RunOptions } from './engine/simulated.js';
export { NO_WORKLOAD } from './engine/verdicts.js';
export { dist, fmtMs } from './engine/result.js';
export type { Distribution, InvariantResult, ReplicationResult, Series, SimResult, Spread, Views } from './engine/result.js';
