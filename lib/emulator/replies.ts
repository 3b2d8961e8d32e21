/**
 * JSON replies and request bodies of the emulator's HTTP routes.
 * @internal
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http'

/** Largest request body read, bytes (the vendor answers 413 above its own limit). */
export const MAX_BODY = 1024 * 1024

/** Sends a JSON body with its status (nothing if the headers went out or the socket is gone). */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers })
  res.end(text)
}

/** Reads a request body; null when it is larger than {@link MAX_BODY}. */
export async function readBody(req: IncomingMessage): Promise<Buffer | null> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > MAX_BODY) return null
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks)
}

/** Answers a failed request: a 500 body before the headers, else the connection is cut. */
export function failRequest(res: ServerResponse, err: unknown): void {
  if (!res.headersSent) sendJson(res, 500, { error: 'InternalServerError', message: 'An unexpected error occurred.' })
  else res.destroy(err as Error)
}
