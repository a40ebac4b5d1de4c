// unbzip2-stream 1.4.3 ships no typings: a function answering a transform stream (bzip2 in, bytes out).
declare module 'unbzip2-stream' {
  import type { Duplex } from 'node:stream';
  export default function unbzip2Stream(): Duplex;
}
