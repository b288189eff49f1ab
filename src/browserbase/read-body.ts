/** What {@link readCapped} kept of a body. */
export interface CappedBody {
  /** The first `limit` bytes at most. */
  bytes: Buffer;
  /** True when the body was longer than `limit`: the rest was never read and the stream was destroyed. */
  truncated: boolean;
}

/**
 * Reads a response body chunk by chunk and stops at `limit` bytes: a 50 MB answer costs at most
 * `limit` bytes of memory (leaving the loop destroys the stream, which drops the connection
 * instead of draining it). Errors of the stream (timeouts, resets, aborts) are thrown as they are.
 */
export async function readCapped(body: AsyncIterable<Uint8Array>, limit: number): Promise<CappedBody> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const room = limit - size;
    if (chunk.length > room) {
      chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, room));
      return { bytes: Buffer.concat(chunks, limit), truncated: true };
    }
    chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
    size += chunk.length;
  }
  return { bytes: Buffer.concat(chunks, size), truncated: false };
}
