/*
 * Playback through Tone.js (loaded on the first Play, so the first view
 * does not pay for it).  Play starts the AudioContext inside the user's
 * click, puts the scheduled events (schedule.ts) on the transport as one
 * looping Part, and starts the transport; Stop stops and clears it.
 * `onState` reports the context state and the number of events scheduled
 * (the editor shows them, and the browser tests read them).
 */
import type { ScheduledEvent } from './schedule';

type ToneNS = typeof import('tone');

export interface PlayerState {
  playing: boolean;
  contextState: string;
  scheduled: number;
}

const DRUMS = new Set(['kick', 'snare', 'hihat', 'clap', 'drum-kick', 'drum-snare', 'drum-hihat', 'drum-clap', 'impact']);

export class Player {
  private tone: ToneNS | null = null;
  private part: { dispose(): void } | null = null;
  private voices = new Map<string, { trigger(ev: ScheduledEvent, time: number): void }>();
  state: PlayerState = { playing: false, contextState: 'suspended', scheduled: 0 };

  constructor(private onState: (s: PlayerState) => void = () => {}) {}

  private async load(): Promise<ToneNS> {
    if (!this.tone) this.tone = await import('tone');
    return this.tone;
  }

  private voice(T: ToneNS, soundId: string): { trigger(ev: ScheduledEvent, time: number): void } {
    const key = soundId === 'chords' ? 'chords' : DRUMS.has(soundId) ? soundId.replace(/^drum-/, '') : 'synth';
    let v = this.voices.get(key);
    if (v) return v;
    const out = new T.Volume(-8).toDestination();
    if (key === 'kick') {
      const s = new T.MembraneSynth().connect(out);
      v = { trigger: (ev, t) => s.triggerAttackRelease('C1', ev.duration, t, ev.velocity) };
    } else if (key === 'snare' || key === 'clap' || key === 'impact') {
      const s = new T.NoiseSynth({ envelope: { attack: 0.001, decay: 0.15, sustain: 0 } }).connect(out);
      v = { trigger: (ev, t) => s.triggerAttackRelease(ev.duration, t, ev.velocity) };
    } else if (key === 'hihat') {
      const s = new T.MetalSynth({ envelope: { attack: 0.001, decay: 0.05, release: 0.01 } }).connect(out);
      s.volume.value = -18;
      v = { trigger: (ev, t) => s.triggerAttackRelease(300, ev.duration, t, ev.velocity) };
    } else {
      const s = new T.PolySynth(T.Synth).connect(out);
      if (key === 'chords') s.volume.value = -12;
      v = {
        trigger: (ev, t) =>
          s.triggerAttackRelease(
            ev.notes.map((n) => T.Frequency(n, 'midi').toFrequency()),
            ev.duration,
            t,
            ev.velocity,
          ),
      };
    }
    this.voices.set(key, v);
    return v;
  }

  /** Plays `events` looping every `length` seconds (call from a click). */
  async play(events: ScheduledEvent[], length: number, loop = true): Promise<void> {
    const T = await this.load();
    await T.start();
    const transport = T.getTransport();
    this.clear(T);
    const part = new T.Part<ScheduledEvent & { time: number }>((time, ev) => {
      try {
        this.voice(T, ev.soundId).trigger(ev, time);
      } catch {
        /* a voice that cannot play this note stays silent */
      }
    }, events.map((e) => ({ ...e })));
    part.loop = loop;
    part.loopEnd = Math.max(length, 0.001);
    part.start(0);
    this.part = part;
    if (!loop) transport.scheduleOnce(() => this.stop(), length + 0.05);
    transport.start('+0.05');
    this.state = { playing: true, contextState: T.getContext().state, scheduled: events.length };
    this.onState(this.state);
  }

  private clear(T: ToneNS): void {
    const transport = T.getTransport();
    transport.stop();
    transport.cancel(0);
    transport.position = 0;
    this.part?.dispose();
    this.part = null;
  }

  stop(): void {
    if (this.tone) this.clear(this.tone);
    this.state = { playing: false, contextState: this.tone ? this.tone.getContext().state : 'suspended', scheduled: 0 };
    this.onState(this.state);
  }
}
