import type { PushPullMessage } from '../codec/messages.js';
import type { Address } from '../transport/transport.js';
import type { SwimCore } from './core.js';
import type { LocalNode } from './local-node.js';
import type { Transitions } from './transitions.js';

/**
 * Full-state exchange (push-pull): our table as a message, and the merge of a peer's,
 * each entry fed through the state machine as the claim it amounts to. The receiver of a
 * push-pull merges before it replies, so a node declared dead across a healed partition
 * refutes in the same exchange (see Membership).
 */
export class PushPull {
  constructor(
    private readonly core: SwimCore,
    private readonly local: LocalNode,
    private readonly transitions: Transitions,
  ) {}

  /** Exchanges state with `addr` (a join when `join`); `done` says whether a reply came. */
  with(addr: Address, join: boolean, done?: (ok: boolean, err?: Error) => void): void {
    this.core.counters.pushPulls++;
    this.core.out.pushPull(addr, this.localState(join), (reply, err) => {
      if (!reply) {
        this.core.counters.pushPullFailures++;
        done?.(false, err);
        return;
      }
      this.merge(reply);
      this.local.notifyDefunct();
      done?.(true);
    });
  }

  /** Our full state, this node first (receivers take the first entry as the sender). */
  localState(join: boolean): PushPullMessage {
    return { type: 'push-pull', join, members: this.core.table.snapshots() };
  }

  /** Applies a peer's full state. */
  merge(msg: PushPullMessage): void {
    const { core, transitions } = this;
    const { table, self } = core;
    const sender = msg.members[0]?.node ?? '';
    for (const s of msg.members) {
      // Most entries of a push-pull repeat what we know: skip them before building a
      // message object, exactly where onAlive / onSuspect / onDead would return at once.
      const known = table.get(s.node);
      if (known && known !== self && (s.state === 'alive' ? s.incarnation <= known.incarnation && s.meta.length <= core.opts.maxMetaSize : s.incarnation < known.incarnation || known.state === 'dead' || known.state === 'left')) continue;
      switch (s.state) {
        case 'alive':
          transitions.onAlive({ type: 'alive', node: s.node, incarnation: s.incarnation, addr: s.addr, meta: s.meta });
          break;
        case 'left':
          transitions.onDead({ type: 'dead', node: s.node, incarnation: s.incarnation, from: s.node });
          break;
        default:
          if (s.node === core.name && s.state === 'dead' && s.incarnation >= self.incarnation) this.local.defunct = true;
          // like memberlist: another node's "dead" is only a suspicion to us, since we
          // may still reach the member; and a dead/suspect claim about us makes us refute
          if (!table.get(s.node) && s.node !== core.name) {
            transitions.onAlive({ type: 'alive', node: s.node, incarnation: s.incarnation, addr: s.addr, meta: s.meta });
          }
          transitions.onSuspect({ type: 'suspect', node: s.node, incarnation: s.incarnation, from: sender });
      }
    }
  }
}
