// The Wyoming protocol version Earshot speaks (events up to the streaming ASR events of 1.7; checked
// against the `wyoming` 1.10.2 client in the tests).
export const VERSION = '1.10.2';
