import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { errorJson } from '../core/error-body.js';

/**
 * Requests that Node's HTTP parser refuses before any handler runs: headers over the size limit, a malformed
 * request line, a Content-Length that is not a number. Node would answer them with an empty body; they get the
 * API's JSON error shape instead (there is no request id: no request was read). The statuses are Node's own.
 */
export function answerClientError(err: Error & { code?: string }, socket: Duplex) {
  // nothing to answer on a reset or closed socket, or in the middle of a response already being written
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent;
  if (err.code === 'ECONNRESET' || !socket.writable || inFlight) {
    socket.destroy();
    return;
  }
  const [status, code, message]: [number, string, string] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'headers_too_large', 'request headers are too large']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'request_timeout', 'the request was not received in time']
        : [400, 'malformed_request', 'the HTTP request could not be parsed'];
  const body = JSON.stringify(errorJson(code, message));
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
