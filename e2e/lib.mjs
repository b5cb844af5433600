// Helpers shared by the end-to-end tests.

import net from 'node:net';

/** A free TCP port on loopback (closed again before it is returned). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** The last `n` characters of a log, for error messages. */
export function tail(s, n = 4000) {
  return s.length > n ? '…' + s.slice(-n) : s;
}
