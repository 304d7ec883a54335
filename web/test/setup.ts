import 'fake-indexeddb/auto';
import { webcrypto } from 'node:crypto';

// Node 18 (Debian 12's) has Web Crypto only as require('crypto').webcrypto;
// browsers and Node 20 have globalThis.crypto.
if (!globalThis.crypto) Object.defineProperty(globalThis, 'crypto', { value: webcrypto, configurable: true });
