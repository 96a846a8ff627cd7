import { execFile } from 'node:child_process';
import { randomUUID, sign } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { canonicalString, type SnsMessage } from '../../src/ingress/ses/verify-sns.js';

/**
 * Test stand-in for Amazon SNS: a locally generated RSA key and self-signed X.509 certificate
 * (openssl CLI), messages shaped like AWS's documented SNS HTTP deliveries of SES receipts, and a
 * recording fetcher that serves the certificate. Only the fetcher differs from production.
 */
export const TOPIC = 'arn:aws:sns:us-east-1:123456789012:mailwright-inbound';
export const CERT_URL =
  'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000000000000000000000000000000a.pem';

export interface SnsSigner {
  certPem: string;
  keyPem: string;
}

export async function createSigner(): Promise<SnsSigner> {
  const dir = await mkdtemp(join(tmpdir(), 'mw-sns-'));
  try {
    await promisify(execFile)('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-sha256',
      '-days',
      '2',
      '-subj',
      '/CN=sns.amazonaws.com',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ]);
    return {
      certPem: await readFile(join(dir, 'cert.pem'), 'utf8'),
      keyPem: await readFile(join(dir, 'key.pem'), 'utf8'),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Sign (or re-sign) a message the way SNS does for its SignatureVersion. */
export function signed(signer: SnsSigner, m: Omit<SnsMessage, 'Signature'> & { Signature?: string }): SnsMessage {
  const digest = m.SignatureVersion === '1' ? 'sha1' : 'sha256';
  const unsigned = { ...m, Signature: '' };
  return {
    ...unsigned,
    Signature: sign(digest, Buffer.from(canonicalString(unsigned), 'utf8'), signer.keyPem).toString('base64'),
  };
}

/** An SES "Received" notification as documented for the SNS action (content inline). */
export function sesReceipt(opts: {
  recipients: string[];
  source: string;
  raw: Buffer;
  encoding: 'BASE64' | 'UTF8';
  action?: 'SNS' | 'S3';
}) {
  const now = new Date().toISOString();
  const sesId = randomUUID().replace(/-/g, '').slice(0, 26);
  const action =
    opts.action === 'S3'
      ? {
          type: 'S3',
          topicArn: TOPIC,
          bucketName: 'amzn-s3-demo-bucket',
          objectKeyPrefix: 'inbound/',
          objectKey: `inbound/${sesId}`,
        }
      : { type: 'SNS', topicArn: TOPIC, encoding: opts.encoding };
  return {
    notificationType: 'Received',
    receipt: {
      timestamp: now,
      processingTimeMillis: 222,
      recipients: opts.recipients,
      spamVerdict: { status: 'PASS' },
      virusVerdict: { status: 'PASS' },
      spfVerdict: { status: 'PASS' },
      dkimVerdict: { status: 'PASS' },
      dmarcVerdict: { status: 'PASS' },
      action,
    },
    mail: {
      timestamp: now,
      source: opts.source,
      messageId: sesId,
      destination: opts.recipients,
      headersTruncated: false,
      headers: [{ name: 'Return-Path', value: `<${opts.source}>` }],
      commonHeaders: { returnPath: opts.source, from: [opts.source], to: opts.recipients, subject: 'test' },
    },
    ...(opts.action === 'S3'
      ? {}
      : { content: opts.encoding === 'BASE64' ? opts.raw.toString('base64') : opts.raw.toString('utf8') }),
  };
}

export function notification(signer: SnsSigner, message: unknown, over: Partial<SnsMessage> = {}): SnsMessage {
  const messageId = over.MessageId ?? randomUUID();
  return signed(signer, {
    Type: 'Notification',
    MessageId: messageId,
    TopicArn: TOPIC,
    Subject: 'Amazon SES Email Receipt Notification',
    Message: typeof message === 'string' ? message : JSON.stringify(message),
    Timestamp: new Date().toISOString(),
    SignatureVersion: '2',
    SigningCertURL: CERT_URL,
    UnsubscribeURL: `https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=${TOPIC}:${messageId}`,
    ...over,
  });
}

export function confirmation(
  signer: SnsSigner,
  type: 'SubscriptionConfirmation' | 'UnsubscribeConfirmation',
  over: Partial<SnsMessage> = {},
): SnsMessage {
  const token = 'a'.repeat(64);
  return signed(signer, {
    Type: type,
    MessageId: randomUUID(),
    Token: token,
    TopicArn: TOPIC,
    Message: `You have chosen to subscribe to the topic ${TOPIC}.\nTo confirm the subscription, visit the SubscribeURL included in this message.`,
    SubscribeURL: `https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=${TOPIC}&Token=${token}`,
    Timestamp: new Date().toISOString(),
    SignatureVersion: '1',
    SigningCertURL: CERT_URL,
    ...over,
  });
}

/** A fetcher that records every URL and serves the local certificate for .pem paths. */
export function recordingFetch(signer: SnsSigner) {
  const calls: string[] = [];
  const fetch = async (url: URL): Promise<string> => {
    calls.push(url.href);
    if (url.pathname.endsWith('.pem')) return signer.certPem;
    return '<ConfirmSubscriptionResponse><ConfirmSubscriptionResult><SubscriptionArn>x</SubscriptionArn></ConfirmSubscriptionResult></ConfirmSubscriptionResponse>';
  };
  return { fetch, calls };
}
