// The mel filterbank Whisper was trained with: Slaney mel scale, Slaney area normalisation,
// 0..8 kHz, for 16 kHz audio and a 400-point FFT (201 bins). whisper.cpp reads these filters
// from the model file, so they must match the ones OpenAI shipped (mel_filters.npz, which
// librosa.filters.mel(sr=16000, n_fft=400, n_mels=80|128) reproduces exactly).
// The arithmetic below follows the same order of float64 operations, with the float32 rounding
// points where librosa stores into float32, so the values agree to the last bit or ulp.

export const WHISPER_SAMPLE_RATE = 16000;
export const WHISPER_N_FFT = 400;

// Slaney's scale: linear below 1 kHz (200/3 Hz per mel), logarithmic above.
const F_SP = 200 / 3;
const MIN_LOG_HZ = 1000;
const MIN_LOG_MEL = MIN_LOG_HZ / F_SP;
const LOG_STEP = Math.log(6.4) / 27;

export function hzToMel(hz: number): number {
  return hz >= MIN_LOG_HZ ? MIN_LOG_MEL + Math.log(hz / MIN_LOG_HZ) / LOG_STEP : hz / F_SP;
}

export function melToHz(mel: number): number {
  return mel >= MIN_LOG_MEL ? MIN_LOG_HZ * Math.exp(LOG_STEP * (mel - MIN_LOG_MEL)) : F_SP * mel;
}

export interface MelFilterbank {
  nMels: number;
  /** frequency bins: nFft / 2 + 1 */
  nBins: number;
  /** row-major [nMels][nBins] */
  data: Float32Array;
}

export function melFilterbank(nMels: number, sampleRate = WHISPER_SAMPLE_RATE, nFft = WHISPER_N_FFT): MelFilterbank {
  const nBins = Math.floor(nFft / 2) + 1;
  // FFT bin centre frequencies, computed as numpy's rfftfreq does.
  const binWidth = 1.0 / (nFft * (1.0 / sampleRate));
  const fftFreqs = Float64Array.from({ length: nBins }, (_, k) => k * binWidth);

  // nMels + 2 band edges, evenly spaced in mel between 0 Hz and Nyquist (numpy linspace order).
  const minMel = hzToMel(0);
  const maxMel = hzToMel(sampleRate / 2);
  const nEdges = nMels + 2;
  const step = (maxMel - minMel) / (nEdges - 1);
  const edgesHz = Float64Array.from({ length: nEdges }, (_, i) => melToHz(i === nEdges - 1 ? maxMel : i * step + minMel));

  const data = new Float32Array(nMels * nBins);
  for (let m = 0; m < nMels; m++) {
    const lowerWidth = edgesHz[m + 1] - edgesHz[m];
    const upperWidth = edgesHz[m + 2] - edgesHz[m + 1];
    // Slaney normalisation: each triangle gets unit area in Hz.
    const norm = 2.0 / (edgesHz[m + 2] - edgesHz[m]);
    for (let k = 0; k < nBins; k++) {
      const rising = -(edgesHz[m] - fftFreqs[k]) / lowerWidth;
      const falling = (edgesHz[m + 2] - fftFreqs[k]) / upperWidth;
      const triangle = Math.fround(Math.max(0, Math.min(rising, falling)));
      data[m * nBins + k] = triangle * norm;
    }
  }
  return { nMels, nBins, data };
}
