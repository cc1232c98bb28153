import { DEFAULT_LIMITS, validateChannel } from '../internal.js';
import type { ChannelsApi, PublishReceipt } from '../internal.js';
import { checkFields, HttpError, stringField } from './http-util.js';
import { isClientError } from './client-error.js';

/** Most messages one batch publish may carry. */
export const MAX_BATCH_MESSAGES = 1000;

const SINGLE_FIELDS = ['data', 'headers', 'idempotencyKey'];
const BATCH_FIELDS = ['channel', ...SINGLE_FIELDS];

/** One message's outcome in a batch: the receipt and its status, or the error single publish would have answered. */
export type BatchResult =
  | ({ status: 200 | 201 } & PublishReceipt)
  | { status: number; error: { code: string; message: string } };

/** Throws 400 E_BAD_CHANNEL unless `channel` is a valid channel name. */
export function checkChannel(channel: string): void {
  try {
    validateChannel(channel, DEFAULT_LIMITS);
  } catch (err) {
    throw new HttpError(400, 'E_BAD_CHANNEL', (err as Error).message);
  }
}

/**
 * Validates one message (`{data, headers?, idempotencyKey?}`) and publishes it; the one
 * implementation behind `POST /v1/channels/{channel}/messages` and each message of
 * `POST /v1/messages`. Throws HttpError for what the client must fix, or the
 * ClusterError of the replica (E_INVALID_ARGUMENT, E_LIMIT), for the caller to map.
 */
export function publishMessage(channels: ChannelsApi, channel: string, msg: Record<string, unknown>, allowed: string[] = SINGLE_FIELDS): PublishReceipt {
  checkFields(msg, allowed, ['data']);
  const headers = msg.headers;
  if (headers !== undefined && (typeof headers !== 'object' || headers === null || Array.isArray(headers) || !Object.values(headers).every((v) => typeof v === 'string'))) {
    throw new HttpError(400, 'E_INVALID_ARGUMENT', 'field "headers" must be an object of strings');
  }
  if (msg.idempotencyKey !== undefined) stringField(msg, 'idempotencyKey', 128);
  return channels.publish(channel, msg.data, {
    ...(headers !== undefined ? { headers: headers as Record<string, string> } : {}),
    ...(msg.idempotencyKey !== undefined ? { idempotencyKey: msg.idempotencyKey as string } : {}),
  });
}

/**
 * `POST /v1/messages`: `{messages: [{channel, data, headers?, idempotencyKey?}, ...]}`.
 * Each message is validated and published on its own, in order (atomic per message: one
 * refused message changes nothing and does not stop the others); the answer lists one
 * result per message, in the same order. A body that is not such a list throws.
 */
export function publishBatch(channels: ChannelsApi, body: Record<string, unknown>): { results: BatchResult[]; published: number; failed: number } {
  checkFields(body, ['messages'], ['messages']);
  const messages = body.messages;
  if (!Array.isArray(messages) || messages.length === 0 || messages.length > MAX_BATCH_MESSAGES) {
    throw new HttpError(400, 'E_INVALID_ARGUMENT', `field "messages" must be an array of 1–${MAX_BATCH_MESSAGES} messages`);
  }
  const results: BatchResult[] = new Array<BatchResult>(messages.length);
  let failed = 0;
  for (let i = 0; i < messages.length; i++) {
    const msg: unknown = messages[i];
    try {
      if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) throw new HttpError(400, 'E_INVALID_ARGUMENT', `messages[${i}] must be an object {channel, data, headers?, idempotencyKey?}`);
      const m = msg as Record<string, unknown>;
      const channel = m.channel;
      if (typeof channel !== 'string') throw new HttpError(400, m.channel === undefined ? 'E_MISSING_FIELD' : 'E_INVALID_ARGUMENT', m.channel === undefined ? 'missing required field "channel"' : 'field "channel" must be a string');
      checkChannel(channel);
      const receipt = publishMessage(channels, channel, m, BATCH_FIELDS);
      results[i] = { status: receipt.duplicate ? 200 : 201, ...receipt };
    } catch (err) {
      const e = batchError(err);
      results[i] = { status: e.status, error: { code: e.code, message: e.message } };
      failed++;
    }
  }
  return { results, published: messages.length - failed, failed };
}

/** The status and code single publish answers for `err`; anything else is a bug and is rethrown. */
function batchError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (isClientError(err)) return new HttpError(err.code === 'E_LIMIT' ? 413 : 400, err.code, err.message);
  throw err;
}
