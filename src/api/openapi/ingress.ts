import { err, errors, json, obj, ref, SEC, type JsonSchema } from './helpers.js';

/** The fields of an SNS message that src/ingress/ses reads (SNS sends more; they are ignored). */
const SNS_MESSAGE = {
  type: 'object',
  required: [
    'Type',
    'MessageId',
    'TopicArn',
    'Message',
    'Timestamp',
    'SignatureVersion',
    'Signature',
    'SigningCertURL',
  ],
  properties: {
    Type: { type: 'string', enum: ['Notification', 'SubscriptionConfirmation', 'UnsubscribeConfirmation'] },
    MessageId: { type: 'string', description: 'redeliveries of one MessageId are stored once' },
    TopicArn: { type: 'string', description: 'must be one of SES_TOPIC_ARNS' },
    Message: { type: 'string', description: 'Notification: the SES receipt (JSON) with the inline mail content' },
    Timestamp: { type: 'string', format: 'date-time' },
    SignatureVersion: { type: 'string', enum: ['1', '2'] },
    Signature: { type: 'string', description: 'base64' },
    SigningCertURL: { type: 'string', format: 'uri', description: 'https://sns.<region>.amazonaws.com/...' },
    SubscribeURL: {
      type: 'string',
      format: 'uri',
      description:
        'required in SubscriptionConfirmation and UnsubscribeConfirmation (signed); fetched to confirm a subscription',
    },
    Token: { type: 'string', description: 'required in SubscriptionConfirmation and UnsubscribeConfirmation (signed)' },
    Subject: { type: 'string', description: 'Notification: signed when present' },
    UnsubscribeURL: { type: 'string', format: 'uri' },
  },
};

/** Mail entering over HTTP: the Amazon SNS subscription for SES (src/api/routes/ses-ingest.ts). */
export const INGRESS_PATHS: Record<string, JsonSchema> = {
  '/api/v1/ingest/ses': {
    post: {
      operationId: 'ingestSesNotification',
      summary: 'Amazon SNS HTTP(S) subscription endpoint for SES inbound mail (SNS action, inline content)',
      tags: ['ingress'],
      security: SEC.none,
      description:
        'No credential: the SNS signature (SignatureVersion 1 or 2, certificate from https://sns.<region>.amazonaws.com) is verified and TopicArn must be in SES_TOPIC_ARNS. ' +
        'Not rate-limited. Notification: the mail is queued for delivery (redeliveries of one SNS MessageId collapse onto one stored message). SubscriptionConfirmation: SubscribeURL is fetched. UnsubscribeConfirmation: logged. ' +
        'S3-action receipts are NOT fetched (200 not_delivered s3_action). The body is read as text whatever its Content-Type (SNS sends text/plain).',
      parameters: [
        {
          name: 'x-amz-sns-message-type',
          in: 'header',
          required: false,
          schema: { type: 'string', enum: ['Notification', 'SubscriptionConfirmation', 'UnsubscribeConfirmation'] },
          description: "when given it must equal the body's Type (else 403 sns_type_mismatch)",
        },
      ],
      requestBody: {
        required: true,
        content: {
          'text/plain': { schema: { type: 'string', description: 'an SNS message (JSON)' } },
          'application/json': { schema: SNS_MESSAGE },
        },
      },
      responses: {
        200: { description: 'handled; SNS stops retrying', content: json(ref('SesReply')) },
        400: err('the body is not JSON (invalid_json)'),
        403: err(
          'the SNS message is refused: sns_not_sns, sns_unsigned, sns_unknown_type, sns_type_mismatch, sns_untrusted_url, sns_topic_not_allowed, sns_unknown_signature_version, sns_bad_signature, sns_bad_certificate, sns_certificate_not_found',
        ),
        404: err('SES ingestion is disabled: SES_TOPIC_ARNS is empty (ses_disabled)'),
        413: err('body larger than SES_MAX_BODY_BYTES (default 528 KiB) (payload_too_large)'),
        ...errors(500),
        503: err(
          'Redis (the queue) or the certificate / SubscribeURL fetch did not answer: SNS retries (service_unavailable)',
        ),
      },
    },
  },
};

/** What SNS receives. */
export const INGRESS_SCHEMAS: Record<string, JsonSchema> = {
  SesReply: {
    description: 'what SNS receives; any 2xx stops its retries',
    oneOf: [
      obj({ status: { const: 'queued' }, ingress_id: { type: 'string', pattern: '^ses-' } }),
      obj({
        status: { const: 'not_delivered' },
        reason: { type: 'string', enum: ['not_a_receipt', 's3_action', 'no_inline_content', 'no_local_recipients'] },
      }),
      obj({ status: { const: 'subscription_confirmed' } }),
      obj({ status: { const: 'unsubscribe_logged' } }),
    ],
  },
};
