import { PayloadTooLargeException } from '@nestjs/common';
import { Transform, type TransformCallback } from 'stream';

export function uploadTooLarge(limitBytes: number): PayloadTooLargeException {
  return new PayloadTooLargeException(`Upload exceeds the ${formatBytes(limitBytes)} limit of a dataset version`);
}

export function formatBytes(bytes: number): string {
  if (bytes % 1024 ** 3 === 0) return `${bytes / 1024 ** 3} GiB`;
  if (bytes % 1024 ** 2 === 0) return `${bytes / 1024 ** 2} MiB`;
  return `${bytes} bytes`;
}

/** Passes bytes through and fails with 413 once more than `limitBytes` went by. */
export class ByteLimit extends Transform {
  private seen = 0;

  constructor(private readonly limitBytes: number) {
    super();
  }

  get bytes(): number {
    return this.seen;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.limitBytes) return callback(uploadTooLarge(this.limitBytes));
    callback(null, chunk);
  }
}
