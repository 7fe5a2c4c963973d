// A real SMTP server in the test process (smtp-server on loopback, port 0) that parses what it
// receives with mailparser, and can be told to answer a recipient with any reply code.
import type { AddressInfo } from 'node:net';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface CaughtMail {
  to: string[];
  mail: ParsedMail;
}

export interface SmtpSink {
  url: string;
  port: number;
  messages: CaughtMail[];
  /** Return a reply (e.g. { code: 550, message: 'no such user' }) to refuse a recipient. */
  refuse: ((recipient: string) => { code: number; message: string } | undefined) | null;
  /** Called after each accepted message (tests use it to stop a run half-way). */
  onMessage: ((mail: CaughtMail) => void) | null;
  /** Messages received for one address. */
  to(address: string): CaughtMail[];
  close(): Promise<void>;
}

export async function startSmtpSink(): Promise<SmtpSink> {
  const sink: SmtpSink = {
    url: '',
    port: 0,
    messages: [],
    refuse: null,
    onMessage: null,
    to: (address) => sink.messages.filter((m) => m.to.includes(address.toLowerCase())),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    // Pooled client connections linger after the test; do not wait the default 30 s for them.
    closeTimeout: 200,
    onRcptTo(address, _session, callback) {
      const reply = sink.refuse?.(address.address);
      if (!reply) return callback();
      const error = new Error(reply.message) as Error & { responseCode: number };
      error.responseCode = reply.code;
      return callback(error);
    },
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((mail) => {
          const caught = {
            to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
            mail,
          };
          sink.messages.push(caught);
          callback();
          sink.onMessage?.(caught);
        })
        .catch(callback);
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  sink.port = (server.server.address() as AddressInfo).port;
  sink.url = `smtp://127.0.0.1:${sink.port}`;
  return sink;
}

/** A loopback port nothing listens on: an SMTP server that is down. */
export async function deadSmtpUrl(): Promise<string> {
  const server = new SMTPServer({ logger: false });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `smtp://127.0.0.1:${port}`;
}
