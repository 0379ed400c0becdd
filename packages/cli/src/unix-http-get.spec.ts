import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MAX_HEAD_BYTES, parseHead, unixHttpGet } from './unix-http-get.cjs';

const COMPILED = fileURLToPath(new URL('./unix-http-get.cjs', import.meta.url));

async function listen(server: Server, socketPath: string): Promise<() => Promise<void>> {
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return () => new Promise<void>((resolve) => server.close(() => resolve()));
}

/** A server that reads the request head, then writes `answer` as raw bytes and closes. */
function rawServer(answer: (head: string) => Buffer | string | undefined): Server {
  return createServer((socket: Socket) => {
    let head = '';
    socket.on('data', (d: Buffer) => {
      head += d.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      const out = answer(head);
      if (out !== undefined) socket.end(out);
    });
    socket.on('error', () => undefined);
  });
}

/** The message a promise rejects with ('resolved' when it does not reject). */
const failureOf = (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => 'resolved',
    (err: unknown) => (err as Error).message,
  );

describe('unixHttpGet (the early list over a unix socket)', () => {
  let dir = '';
  let socketPath = '';
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'unix-get-'));
    socketPath = path.join(dir, 's.sock');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('sends one HTTP/1.0 GET and returns the body of a 200, with or without Content-Length', async () => {
    const seen: { method?: string; url?: string; version?: string; host?: string }[] = [];
    // Multi-byte UTF-8 across the buffer's growth points, and more than the first buffer holds.
    const big = JSON.stringify(Array.from({ length: 10_000 }, (_, i) => ({ i, l: `é€😀-${i}` })));
    const server = createHttpServer((req: IncomingMessage, res) => {
      seen.push({
        method: req.method,
        url: req.url,
        version: req.httpVersion,
        host: req.headers.host,
      });
      if (req.url === '/sized') res.writeHead(200, { 'content-length': 7 }).end('[1,2,3]');
      else {
        // Written before the end, so no length: Node ends a 1.0 answer by closing the connection.
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write(big);
        res.end();
      }
    });
    const close = await listen(server, socketPath);
    try {
      const sized = unixHttpGet(socketPath, '/sized');
      sized.ref();
      expect((await sized.body).toString()).to.equal('[1,2,3]');
      const grown = unixHttpGet(socketPath, '/containers/json?all=true', { initialBytes: 1 });
      grown.ref();
      const body = await grown.body;
      expect(body.length).to.equal(Buffer.byteLength(big));
      expect(body.toString('utf8')).to.equal(big);
      // The engine's own shape: no length, no chunks, the body ends where the connection does.
      const bare = rawServer(
        () => 'HTTP/1.0 200 OK\r\ncontent-type: application/json\r\n\r\n[{"Id":"a"}]',
      );
      const p2 = path.join(dir, 'bare.sock');
      const close2 = await listen(bare, p2);
      try {
        const get = unixHttpGet(p2, '/containers/json');
        get.ref();
        expect((await get.body).toString()).to.equal('[{"Id":"a"}]');
      } finally {
        await close2();
      }
      expect(seen).to.deep.equal([
        { method: 'GET', url: '/sized', version: '1.0', host: 'docker' },
        { method: 'GET', url: '/containers/json?all=true', version: '1.0', host: 'docker' },
      ]);
    } finally {
      await close();
    }
  });

  it('decodes a chunked answer (a proxy may send one to a 1.0 request), in pieces of any size', async () => {
    const body = JSON.stringify({ a: 'é€😀'.repeat(50_000) });
    const bytes = Buffer.from(body);
    // Chunks of 1 to 70,000 bytes, with an extension and a trailer, written in small pieces so
    // that size lines, data and the CRLFs between them are split across reads.
    const parts: Buffer[] = [Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n')];
    for (let at = 0, n = 1; at < bytes.length; at += n, n = Math.min(n * 7, 70_000)) {
      const piece = bytes.subarray(at, at + n);
      parts.push(Buffer.from(`${piece.length.toString(16)};x=y\r\n`), piece, Buffer.from('\r\n'));
    }
    parts.push(Buffer.from('0\r\nX-Trailer: 1\r\n\r\n'));
    const whole = Buffer.concat(parts);
    const server = createServer((socket: Socket) => {
      socket.once('data', async () => {
        for (let at = 0; at < whole.length; at += 4093) {
          socket.write(whole.subarray(at, at + 4093));
          if (at % (4093 * 16) === 0) await new Promise((r) => setImmediate(r));
        }
        // Kept open after the last chunk: the answer ends with it, not with the connection.
      });
      socket.on('error', () => undefined);
    });
    const close = await listen(server, socketPath);
    try {
      const get = unixHttpGet(socketPath, '/c', { initialBytes: 1 });
      get.ref();
      expect((await get.body).toString('utf8')).to.equal(body);
      // A last chunk at once, then nothing more: an empty body.
      const empty = rawServer(
        () => 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n',
      );
      const p2 = path.join(dir, 'e.sock');
      const close2 = await listen(empty, p2);
      try {
        const e = unixHttpGet(p2, '/e');
        e.ref();
        expect((await e.body).length).to.equal(0);
      } finally {
        await close2();
      }
    } finally {
      await close();
    }
  });

  it('rejects any other answer, naming what was wrong', async () => {
    const answers: Record<string, string> = {
      '/500': 'HTTP/1.1 500 Internal Server Error\r\ncontent-length: 2\r\n\r\n{}',
      '/gzip': 'HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, chunked\r\n\r\n',
      '/bad-chunk': 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\n[]xx0\r\n\r\n',
      '/bad-size': 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n[]\r\n0\r\n\r\n',
      '/no-last-chunk': 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\n[]\r\n',
      '/short': 'HTTP/1.0 200 OK\r\ncontent-length: 10\r\n\r\n[1]',
      '/long': 'HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\n[1,2]',
      '/two-lengths': 'HTTP/1.0 200 OK\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\n[]',
      '/bad-length': 'HTTP/1.0 200 OK\r\ncontent-length: 1e3\r\n\r\n[]',
      '/not-http': 'SSH-2.0-OpenSSH\r\n\r\n',
      '/bad-header': 'HTTP/1.0 200 OK\r\nno colon here\r\n\r\n[]',
      '/no-head-end': 'HTTP/1.0 200 OK\r\ncontent-type: application/json\r\n',
      '/huge-head': `HTTP/1.0 200 OK\r\nx: ${'a'.repeat(MAX_HEAD_BYTES + 10)}\r\n\r\n[]`,
    };
    const server = rawServer((head) => answers[head.split(' ')[1] ?? ''] ?? '');
    const close = await listen(server, socketPath);
    const failures: Record<string, string> = {};
    try {
      for (const p of Object.keys(answers)) {
        const get = unixHttpGet(socketPath, p);
        get.ref();
        failures[p] = await failureOf(get.body);
      }
    } finally {
      await close();
    }
    expect(failures).to.deep.equal({
      '/500': 'the engine answered 500',
      '/gzip': 'the answer has a transfer coding we do not read: gzip, chunked',
      '/bad-chunk': 'the answer has a malformed chunk',
      '/bad-size': 'the answer has a malformed chunk',
      '/no-last-chunk': 'the connection closed before the answer ended',
      '/short': 'the connection closed before the answer ended',
      '/long': 'the answer is longer than its Content-Length',
      '/two-lengths': 'the answer has an invalid Content-Length',
      '/bad-length': 'the answer has an invalid Content-Length',
      '/not-http': 'the answer is not HTTP/1.x',
      '/bad-header': 'the answer has a malformed header line',
      '/no-head-end': 'the connection closed before the answer',
      '/huge-head': 'the answer has no end of head within 16 KiB',
    });
  });

  it('parseHead reads the status, the Content-Length and chunking, case-insensitively', () => {
    expect(parseHead('HTTP/1.1 200 OK\r\nContent-Type: x\r\nCONTENT-LENGTH:  12 ')).to.deep.equal({
      status: 200,
      contentLength: 12,
      chunked: false,
    });
    expect(parseHead('HTTP/1.0 200')).to.deep.equal({
      status: 200,
      contentLength: undefined,
      chunked: false,
    });
    expect(parseHead('HTTP/1.0 200 OK\r\nTransfer-Encoding: identity')).to.deep.equal({
      status: 200,
      contentLength: undefined,
      chunked: false,
    });
    // With both, the chunks decide the length (RFC 9112 6.3).
    expect(
      parseHead('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: Chunked'),
    ).to.deep.equal({ status: 200, contentLength: undefined, chunked: true });
    expect(String(parseHead('HTTP/2 200'))).to.include('not HTTP/1.x');
  });

  it('rejects a request path that is not printable ASCII, before it connects', () => {
    expect(() => unixHttpGet(socketPath, '/a b')).to.throw('printable ASCII');
    expect(() => unixHttpGet(socketPath, '/a\r\nX: 1')).to.throw('printable ASCII');
    expect(() => unixHttpGet(socketPath, 'a')).to.throw('printable ASCII');
  });

  it('times out, and abandon() closes the connection and rejects', async () => {
    const closed: string[] = [];
    const server = rawServer(() => undefined);
    server.on('connection', (s: Socket) => s.on('close', () => closed.push('closed')));
    const close = await listen(server, socketPath);
    try {
      const slow = unixHttpGet(socketPath, '/x', { timeoutMs: 50 });
      slow.ref();
      expect(await failureOf(slow.body)).to.equal('no answer within 50 ms');
      const left = unixHttpGet(socketPath, '/x');
      left.ref();
      await new Promise((r) => setTimeout(r, 20));
      left.abandon();
      expect(await failureOf(left.body)).to.equal('abandoned');
      for (let i = 0; i < 100 && closed.length < 2; i++) await new Promise((r) => setTimeout(r, 5));
      expect(closed).to.deep.equal(['closed', 'closed']);
    } finally {
      await close();
    }
  });

  it('does not keep the process alive until ref() (a real process against a silent server)', async () => {
    const server = rawServer(() => undefined);
    const close = await listen(server, socketPath);
    const exitsWithin = (refd: boolean): Promise<number | 'alive'> =>
      new Promise((resolve) => {
        const script = `const g = require(${JSON.stringify(COMPILED)}).unixHttpGet(${JSON.stringify(socketPath)}, '/x'); ${refd ? 'g.ref();' : ''}`;
        const child = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
        const timer = setTimeout(() => {
          child.kill();
          resolve('alive');
        }, 1500);
        child.on('exit', (code) => {
          clearTimeout(timer);
          resolve(code ?? -1);
        });
      });
    try {
      const [unrefd, refd] = await Promise.all([exitsWithin(false), exitsWithin(true)]);
      expect(unrefd, 'not wanted: the process exits').to.equal(0);
      expect(refd, 'wanted: it waits for the answer').to.equal('alive');
    } finally {
      await close();
    }
  });
});
