// earshot listen: the always-on wake-word client (seed 000's host side).
import { type Command, Option } from 'commander';
import { listDevices } from '../../wakeword/audio-input.js';
import { runListenClient } from '../../wakeword/client.js';
import { listenConfigFromEnv, listenConfigFromFile, ENV_HELP, resolveListenConfig, type ListenConfigInput } from '../../config/listen.js';
import { BUILTIN_WAKEWORDS } from '../../wakeword/wakeword-models.js';

interface ListenFlags {
  config?: string;
  server?: string;
  wakeword?: string[];
  threshold?: string;
  input?: string;
  device?: string;
  silenceDuration?: string;
  silenceThreshold?: string;
  maxDuration?: string;
  speechTimeout?: string;
  endpoint?: string;
  filter?: boolean;
  cooldown?: string;
  preRoll?: string;
  language?: string;
  apiKey?: string;
  json?: boolean;
  exec?: string;
  listDevices?: boolean;
  vad?: boolean;
  realtime?: boolean;
  retryWindow?: string;
}

export function register(program: Command): void {
  program
    .command('listen')
    .description('Wait for a wake word, record what follows, send it to an Earshot server and print the text')
    .option('--server <url>', 'Earshot server URL, e.g. http://localhost:8000')
    .option('--wakeword <name|path.onnx...>', `wake word model(s): ${BUILTIN_WAKEWORDS.join(', ')} or your own .onnx (default hey_jarvis)`)
    .option('--threshold <score>', 'detection threshold 0..1 (default 0.5)')
    .option('--input <mic|file|->', 'mic (default), an audio file (decoded with ffmpeg), or - for raw s16le 16 kHz mono on stdin')
    .option('--device <name>', 'microphone device (see --list-devices)')
    .option('--silence-duration <s>', 'seconds of quiet that end a recording (default 1.5)')
    .option('--silence-threshold <rms>', 'int16 RMS below which audio counts as quiet, with --endpoint rms (default 500)')
    .option('--max-duration <s>', 'longest speech after the wake word (default 10)')
    .option('--speech-timeout <s>', 'after the wake word, how long to wait for speech to begin before giving up (default 4)')
    .addOption(new Option('--endpoint <vad|rms>', "what ends a recording: the server's VAD (default) or seed 000's RMS rule").choices(['vad', 'rms']))
    .option('--no-filter', 'keep transcripts the hallucination filter judges invented')
    .option('--cooldown <s>', 'seconds to ignore the wake word after a recording (default 3)')
    .option('--pre-roll <s>', 'seconds of audio before the detection to include (default 0.5)')
    .option('--language <code>', 'language hint sent to the server')
    .option('--api-key <key>', 'sent as Authorization: Bearer <key>')
    .option('--json', 'print JSON lines (detections and transcripts with timings) instead of plain text')
    .option('--exec <command>', 'run this command with the transcript as its last argument and in $EARSHOT_TEXT (no shell)')
    .option('--vad', 'gate the wake-word models with Silero VAD to save CPU during silence')
    .option('--realtime', 'pace file/stdin input at real time (default: as fast as possible)')
    .option('--retry-window <s>', 'how long to keep retrying an utterance while the server is unreachable (default 300)')
    .option('--list-devices', 'list capture devices and exit')
    .addOption(new Option('--config <file.json>', 'settings file (flat JSON, or under a "listen" key)').env('EARSHOT_LISTEN_CONFIG'))
    .addHelpText(
      'after',
      `\nSettings come from defaults < --config file < environment < flags. Environment variables:\n  ${ENV_HELP.join('\n  ')}\n` +
        'Config-file keys are the flag names in camelCase or snake_case (seed 000 names such as wakeword_threshold,\n' +
        'silence_duration, silence_threshold, max_recording_duration and cooldown_time are accepted too).\n' +
        "\nThe pretrained wake-word models are openWakeWord's (CC BY-NC-SA 4.0: non-commercial use only).\n",
    )
    .action(async (flags: ListenFlags) => {
      if (flags.listDevices) {
        process.stdout.write(`${await listDevices()}\n`);
        return;
      }
      const config = resolveListenConfig(flags.config ? listenConfigFromFile(flags.config) : {}, listenConfigFromEnv(), flagsToConfig(flags));
      const abort = new AbortController();
      const stop = () => abort.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        const summary = await runListenClient(config, { stdout: process.stdout, stderr: process.stderr }, abort.signal);
        if (summary.failures > 0) process.exitCode = 1;
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
    });
}

function flagsToConfig(flags: ListenFlags): ListenConfigInput {
  return {
    server: flags.server,
    wakewords: flags.wakeword
      ?.flatMap((w) => w.split(','))
      .map((w) => w.trim())
      .filter(Boolean),
    threshold: flags.threshold,
    input: flags.input,
    device: flags.device,
    silenceDuration: flags.silenceDuration,
    silenceThreshold: flags.silenceThreshold,
    maxDuration: flags.maxDuration,
    speechTimeout: flags.speechTimeout,
    endpoint: flags.endpoint,
    // commander sets filter=true by default for --no-filter: only an explicit --no-filter overrides other layers
    filter: flags.filter === false ? false : undefined,
    cooldown: flags.cooldown,
    preRoll: flags.preRoll,
    language: flags.language,
    apiKey: flags.apiKey,
    json: flags.json,
    exec: flags.exec,
    vad: flags.vad,
    realtime: flags.realtime,
    retryWindow: flags.retryWindow,
  };
}
