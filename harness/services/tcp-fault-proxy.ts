/**
 * A TCP proxy on loopback between one replica of a gate and its database (PostgreSQL), whose mode
 * the harness switches to inject the faults such a deployment really has:
 *   pass         forward both ways
 *   partition    the database is unreachable from this replica: open connections are cut, nothing
 *                listens (new connections are refused) until healed
 *   lose-ack     a statement whose text matches `match` runs to its end on the server — COMMIT
 *                included — and the connection is cut when its result comes back, before the
 *                replica reads it: a write that landed without its acknowledgement
 *   slow         results of statements matching `match` come back `ms` late (past the replica's
 *                deadline: it must not take the silence for "not written")
 * It reads just enough of the PostgreSQL protocol to do that: the server's messages (a type byte
 * and a length) to find a CommandComplete ('C'), and the client's bytes for the matched text.
 */
import type { Server, Socket } from 'node:net';
import { createConnection, createServer } from 'node:net';

export type TcpProxyMode = { kind: 'pass' } | { kind: 'partition' } | { kind: 'lose-ack'; match: string } | { kind: 'slow'; match: string; ms: number };

export interface TcpFaultProxy {
  readonly port: number;
  readonly mode: TcpProxyMode;
  /** resolves once the mode holds (a partition: connections cut, nothing listens) */
  setMode(mode: TcpProxyMode): Promise<void>;
  /** what the proxy did: connections accepted, acknowledgements it cut off, results it delayed */
  readonly stats: { connections: number; lostAcks: number; delayed: number; cut: number };
  close(): Promise<void>;
}

/** Splits a server→client stream into whole messages (type byte, int32 length including itself). */
class MessageSplitter {
  private pending: Buffer = Buffer.alloc(0);

  /** The complete messages in `chunk` (and before it), each as [type, bytes]. */
  push(chunk: Buffer): { type: number; bytes: Buffer }[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const out: { type: number; bytes: Buffer }[] = [];
    let offset = 0;
    while (this.pending.length - offset >= 5) {
      const length = this.pending.readUInt32BE(offset + 1);
      if (this.pending.length - offset < 1 + length) break;
      out.push({ type: this.pending[offset]!, bytes: this.pending.subarray(offset, offset + 1 + length) });
      offset += 1 + length;
    }
    this.pending = this.pending.subarray(offset);
    return out;
  }
}

const COMMAND_COMPLETE = 'C'.charCodeAt(0);
/** how long a partition's start waits for the cut connections' ends to reach their clients */
const PARTITION_SETTLE_MS = 100;
const READY_FOR_QUERY = 'Z'.charCodeAt(0);

export async function startTcpFaultProxy(target: { host: string; port: number }, options: { host?: string; port?: number } = {}): Promise<TcpFaultProxy> {
  const host = options.host ?? '127.0.0.1';
  let mode: TcpProxyMode = { kind: 'pass' };
  const stats = { connections: 0, lostAcks: 0, delayed: 0, cut: 0 };
  const open = new Set<Socket>();
  let server: Server | undefined;
  let port = options.port ?? 0;

  const handle = (client: Socket) => {
    stats.connections++;
    const upstream = createConnection({ host: target.host, port: target.port });
    open.add(client);
    open.add(upstream);
    const cut = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', () => {
      open.delete(client);
      upstream.destroy();
    });
    upstream.on('close', () => {
      open.delete(upstream);
      client.destroy();
    });
    client.on('error', cut);
    upstream.on('error', cut);
    // Statements of the client that match, whose result has not come back yet.
    let matched = 0;
    client.on('data', (chunk: Buffer) => {
      const m = mode;
      if ((m.kind === 'lose-ack' || m.kind === 'slow') && chunk.includes(m.match)) matched++;
      upstream.write(chunk);
    });
    const splitter = new MessageSplitter();
    // Results are delivered in order: a delayed one holds back what follows it.
    let delivery = Promise.resolve();
    upstream.on('data', (chunk: Buffer) => {
      const m = mode;
      if (matched === 0 || (m.kind !== 'lose-ack' && m.kind !== 'slow')) {
        delivery = delivery.then(() => {
          if (!client.destroyed) client.write(chunk);
        });
        // keep the splitter in step with the stream
        splitter.push(chunk);
        return;
      }
      const messages = splitter.push(chunk);
      const completes = messages.some((msg) => msg.type === COMMAND_COMPLETE || msg.type === READY_FOR_QUERY);
      if (m.kind === 'lose-ack' && messages.some((msg) => msg.type === COMMAND_COMPLETE)) {
        // The server finished the statement (and, outside a transaction block, committed it).
        matched = 0;
        stats.lostAcks++;
        stats.cut++;
        cut();
        return;
      }
      if (m.kind === 'slow' && completes) {
        matched = 0;
        stats.delayed++;
        const held = chunk;
        delivery = delivery.then(
          () =>
            new Promise<void>((resolve) =>
              setTimeout(() => {
                if (!client.destroyed) client.write(held);
                resolve();
              }, m.ms),
            ),
        );
        return;
      }
      delivery = delivery.then(() => {
        if (!client.destroyed) client.write(chunk);
      });
    });
  };

  const listenNow = () =>
    new Promise<void>((resolve, reject) => {
      const s = createServer(handle);
      s.once('error', reject);
      s.listen(port, host, () => {
        port = (s.address() as { port: number }).port;
        server = s;
        resolve();
      });
    });
  const stopListening = () =>
    new Promise<void>((resolve) => {
      const s = server;
      server = undefined;
      if (!s) return resolve();
      s.close(() => resolve());
    });
  const cutAll = () => {
    for (const socket of open) {
      socket.destroy();
      stats.cut++;
    }
    open.clear();
  };

  await listenNow();
  return {
    get port() {
      return port;
    },
    get mode() {
      return mode;
    },
    stats,
    async setMode(next) {
      const was = mode;
      mode = next;
      if (next.kind === 'partition' && was.kind !== 'partition') {
        // close() resolves only once every connection ended: cut them while it waits.
        const stopped = stopListening();
        cutAll();
        await stopped;
        // The clients see their connections end before anything else is sent to them: a statement
        // then finds no connection (unavailable), not a dead one (which would read as unconfirmed).
        await new Promise((resolve) => setTimeout(resolve, PARTITION_SETTLE_MS));
      } else if (next.kind !== 'partition' && was.kind === 'partition') {
        // The same port again: bounded retries while the kernel lets go of it.
        for (let attempt = 0; ; attempt++) {
          try {
            await listenNow();
            break;
          } catch (error) {
            if (attempt >= 50) throw error;
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
        }
      }
    },
    async close() {
      const stopped = stopListening();
      cutAll();
      await stopped;
    },
  };
}
