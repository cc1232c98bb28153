import blessed from 'blessed';
import { SPARK_ASCII, SPARK_UNICODE } from './format.js';
import { computeLayout, inner } from './layout.js';
import type { Rect } from './layout.js';
import { renderActivity, renderBrokers, renderChannels, renderFooter, renderHeader, renderLog, renderMembers, renderOverlay } from './render.js';
import type { PanelText } from './render.js';
import type { DashState, Focus } from './state.js';
import { RenderThrottle } from './throttle.js';

/** Options of {@link DashScreen}. */
export interface DashScreenOptions {
  /** Called on `q` or Ctrl-C. */
  onQuit: () => void;
  /** Called when Enter opened a channel's details (the feed loads them). */
  onOpenChannel: (channel: string) => void;
  /** Called when Enter opened a member's details (the feed loads its evidence). @default undefined */
  onOpenMember?: (name: string) => void;
  /** Shortest time between two draws, ms. @default 250 */
  renderIntervalMs?: number;
  /** Terminal input. @default process.stdin */
  input?: NodeJS.ReadableStream;
  /** Terminal output. @default process.stdout */
  output?: NodeJS.WritableStream;
}

type Box = blessed.Widgets.BoxElement;
type ScreenOpts = blessed.Widgets.IScreenOptions;

/**
 * The blessed side of the dashboard: boxes placed by {@link computeLayout}, filled by the
 * pure renderers, drawn through a {@link RenderThrottle} (at most 4 times a second), and
 * the key bindings that drive the view-model.
 */
export class DashScreen {
  private readonly screen: blessed.Widgets.Screen;
  private readonly boxes: Record<'header' | 'members' | 'brokers' | 'channels' | 'activity' | 'log' | 'footer' | 'overlay', Box>;
  private readonly throttle: RenderThrottle;
  private readonly clock: NodeJS.Timeout;
  private readonly glyphs: readonly string[];
  private destroyed = false;

  constructor(
    private readonly state: DashState,
    private readonly opts: DashScreenOptions,
  ) {
    // blessed compiles the terminfo entry of $TERM and prints the source of any capability
    // it cannot compile (screen-256color's, for one) with console.error, before the
    // alternate screen is up: that would land on the user's terminal as garbage. The
    // capability is unused; silence the noise while the screen is built.
    const consoleError = console.error;
    console.error = () => {};
    try {
      this.screen = blessed.screen({
        smartCSR: true,
        fullUnicode: false,
        autoPadding: true,
        warnings: false,
        title: `clusterd dash ${state.agent}`,
        // @types/blessed swaps the stream types (input Writable, output Readable)
        ...(opts.input ? { input: opts.input as unknown as ScreenOpts['input'] } : {}),
        ...(opts.output ? { output: opts.output as unknown as ScreenOpts['output'] } : {}),
      });
    } finally {
      console.error = consoleError;
    }
    const tput = (this.screen as unknown as { tput: { unicode: boolean; brokenACS: boolean } }).tput;
    this.glyphs = tput.unicode ? SPARK_UNICODE : SPARK_ASCII;
    // On a UTF-8 terminal, draw borders with Unicode box characters rather than the VT100
    // alternate character set: tmux and screen declare ACS in terminfo but then store and
    // copy those cells as "lqqk" letters (capture-pane, copy mode, scrollback).
    if (tput.unicode) tput.brokenACS = true;
    const panel = (bordered: boolean): Box =>
      blessed.box({
        parent: this.screen,
        tags: true,
        wrap: false,
        ...(bordered ? { border: { type: 'line' }, style: { border: { fg: 'gray' }, label: { bold: true } } } : {}),
      });
    this.boxes = {
      header: panel(false),
      members: panel(true),
      brokers: panel(true),
      channels: panel(true),
      activity: panel(true),
      log: panel(true),
      footer: panel(false),
      overlay: panel(true),
    };
    this.boxes.overlay.hide();
    this.throttle = new RenderThrottle(() => this.draw(), opts.renderIntervalMs ?? 250);
    state.onChange = () => this.throttle.request();
    this.screen.on('keypress', (ch: string | undefined, key: blessed.Widgets.Events.IKeyEventArg | undefined) => this.onKey(ch, key));
    this.screen.on('resize', () => this.throttle.request());
    // "in state" durations and the clock advance even when nothing else changes
    this.clock = setInterval(() => this.throttle.request(), 1000);
    this.clock.unref();
    this.throttle.request();
  }

  /** Restores the terminal (leaves the alternate screen, shows the cursor, ends raw mode). */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.throttle.stop();
    clearInterval(this.clock);
    this.state.onChange = undefined;
    this.screen.destroy();
  }

  private onKey(ch: string | undefined, key: blessed.Widgets.Events.IKeyEventArg | undefined): void {
    const s = this.state;
    const name = key?.name;
    if (key?.full === 'C-c') return this.opts.onQuit();
    if (s.editingFilter) {
      if (name === 'escape') s.endFilter(false);
      else if (name === 'enter') s.endFilter(true);
      else if (name === 'backspace') s.setFilter(s.filter.slice(0, -1));
      else if (ch !== undefined && ch.length === 1 && ch >= ' ' && ch !== '\x7f' && !key?.ctrl && !key?.meta) s.setFilter(s.filter + ch);
      return;
    }
    const page = Math.max(1, this.pageSize());
    switch (ch) {
      case 'q':
        return this.opts.onQuit();
      case '?':
        return s.setOverlay(s.overlay.kind === 'help' ? { kind: 'none' } : { kind: 'help' });
      case 's':
        return s.cycleSort(false);
      case 'S':
        return s.cycleSort(true);
      case '/':
        if (s.overlay.kind !== 'none') s.setOverlay({ kind: 'none' });
        s.focus = 'members';
        return s.startFilter();
      case 'j':
        return s.move(1);
      case 'k':
        return s.move(-1);
      case 'g':
        return s.jump(true);
      case 'G':
        return s.jump(false);
      default:
        break;
    }
    switch (name) {
      case 'escape':
        if (s.overlay.kind !== 'none') s.setOverlay({ kind: 'none' });
        else if (s.filter !== '') s.setFilter('');
        return;
      case 'tab':
        return s.cycleFocus();
      case 'up':
        return s.move(-1);
      case 'down':
        return s.move(1);
      case 'pageup':
        return s.move(-page);
      case 'pagedown':
        return s.move(page);
      case 'home':
        return s.jump(true);
      case 'end':
        return s.jump(false);
      // blessed reports a carriage return twice, as "return" then as "enter": act on one
      case 'enter': {
        if (s.overlay.kind !== 'none') return;
        const channel = s.open();
        if (channel !== undefined) this.opts.onOpenChannel(channel);
        const member = s.detailMember;
        if (member !== undefined) this.opts.onOpenMember?.(member);
        return;
      }
      default:
        return;
    }
  }

  private pageSize(): number {
    const l = computeLayout(this.cols(), this.rows());
    const focusRect: Record<Focus, Rect> = { members: l.members, channels: l.channels, events: l.log };
    return this.state.overlay.kind !== 'none' ? inner(l.overlay).height : inner(focusRect[this.state.focus]).height - 1;
  }

  private cols(): number {
    return Number(this.screen.width) || 80;
  }

  private rows(): number {
    return Number(this.screen.height) || 24;
  }

  private place(box: Box, r: Rect, panel?: PanelText, focused = false): void {
    box.top = r.top;
    box.left = r.left;
    box.width = r.width;
    box.height = r.height;
    if (panel) {
      box.setLabel(panel.label);
      box.setContent(panel.lines.join('\n'));
      box.style.border = { fg: focused ? 'cyan' : 'gray' };
    }
  }

  /** One frame: lay out for the current size and fill every panel from the state. */
  private draw(): void {
    if (this.destroyed) return;
    const s = this.state;
    const now = Date.now();
    const l = computeLayout(this.cols(), this.rows());
    const b = this.boxes;
    const overlayOpen = s.overlay.kind !== 'none';
    this.place(b.header, l.header);
    b.header.setContent(renderHeader(s, l.header.width).join('\n'));
    const mi = inner(l.members);
    this.place(b.members, l.members, renderMembers(s, mi.width, mi.height, now), s.focus === 'members' && !overlayOpen);
    const bi = inner(l.brokers);
    this.place(b.brokers, l.brokers, renderBrokers(s, bi.width, bi.height));
    const ci = inner(l.channels);
    this.place(b.channels, l.channels, renderChannels(s, ci.width, ci.height), s.focus === 'channels' && !overlayOpen);
    const ai = inner(l.activity);
    this.place(b.activity, l.activity, renderActivity(s, ai.width, ai.height, this.glyphs));
    const li = inner(l.log);
    this.place(b.log, l.log, renderLog(s, li.width, li.height), s.focus === 'events' && !overlayOpen);
    this.place(b.footer, l.footer);
    b.footer.setContent(renderFooter(s, l.footer.width));
    const oi = inner(l.overlay);
    const overlay = renderOverlay(s, oi.width, oi.height, now);
    if (overlay) {
      this.place(b.overlay, l.overlay, overlay, true);
      b.overlay.show();
      b.overlay.setFront();
    } else {
      b.overlay.hide();
    }
    this.screen.render();
  }
}
