// Zeroconf (mDNS/DNS-SD) advertisement of the Wyoming service as `_wyoming._tcp`, which Home Assistant
// discovers and offers to add. bonjour-service does the multicast DNS; it is turned off by config.
import { Bonjour } from 'bonjour-service';

export interface Advertisement {
  name: string;
  stop(): Promise<void>;
}

export function advertise(opts: { name: string; port: number; host?: string; onError: (err: Error) => void }): Advertisement {
  const bonjour = new Bonjour({}, opts.onError);
  bonjour.publish({ name: opts.name, type: 'wyoming', protocol: 'tcp', port: opts.port, ...(opts.host ? { host: opts.host } : {}) });
  return {
    name: opts.name,
    stop: () =>
      new Promise<void>((resolve) => {
        bonjour.unpublishAll(() => bonjour.destroy(() => resolve()));
      }),
  };
}
