// A real HTTP server on 127.0.0.1 speaking the Chat Completions subset the LLM code uses.
// Tests script it per request and assert on what actually arrived over the wire.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  /** parsed JSON body (undefined when the body was not JSON) */
  body: any;
  /** Date.now() when the request arrived */
  at: number;
}

export type Reply = { status?: number; headers?: Record<string, string>; json?: unknown; text?: string } | { hang: true };

export type Handler = (req: RecordedRequest, index: number) => Reply | Promise<Reply>;

export interface FakeOpenAiServer {
  /** base URL including /v1, e.g. http://127.0.0.1:54321/v1 */
  url: string;
  requests: RecordedRequest[];
  /** replies used once each, in order, before the handler */
  queue(...replies: Reply[]): void;
  /** the reply for every request once the queue is empty */
  setHandler(h: Handler): void;
  /** resolves when the n-th request (1-based) has arrived */
  waitForRequests(n: number): Promise<void>;
  close(): Promise<void>;
}

/** A chat.completion whose message content is `content`. */
export function chatReply(content: string, model = 'fake-model', finishReason = 'stop'): Reply {
  return {
    json: {
      id: 'chatcmpl-fake',
      object: 'chat.completion',
      created: 0,
      model,
      choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, finish_reason: finishReason, logprobs: null }],
      usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
    },
  };
}

/** A structured answer {"words": [...]}. */
export function wordsReply(words: string[]): Reply {
  return chatReply(JSON.stringify({ words }));
}

/** An OpenAI-style error body. */
export function errorReply(status: number, message: string, extra: Record<string, unknown> = {}, headers?: Record<string, string>): Reply {
  return { status, headers, json: { error: { message, type: 'invalid_request_error', param: null, code: null, ...extra } } };
}

/** The user prompt of a recorded chat request. */
export function userPrompt(req: RecordedRequest): string {
  const msgs: Array<{ role: string; content: string }> = req.body?.messages ?? [];
  return msgs.find((m) => m.role === 'user')?.content ?? '';
}

export async function startFakeOpenAiServer(handler: Handler = () => errorReply(500, 'no handler scripted')): Promise<FakeOpenAiServer> {
  const requests: RecordedRequest[] = [];
  const queued: Reply[] = [];
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  let current = handler;

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        body = undefined;
      }
      const rec: RecordedRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body, at: Date.now() };
      requests.push(rec);
      const index = requests.length - 1;
      for (const w of waiters.filter((w) => requests.length >= w.n)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
      void Promise.resolve(queued.length ? queued.shift()! : current(rec, index)).then((reply) => {
        if ('hang' in reply) return; // never answer; close() tears the socket down
        const status = reply.status ?? 200;
        const payload = reply.json !== undefined ? JSON.stringify(reply.json) : (reply.text ?? '');
        const type = reply.json !== undefined ? 'application/json' : 'text/plain';
        res.writeHead(status, { 'content-type': type, ...reply.headers });
        res.end(payload);
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    queue: (...r) => void queued.push(...r),
    setHandler: (h) => void (current = h),
    waitForRequests: (n) => (requests.length >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve }))),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
