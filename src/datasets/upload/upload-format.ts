import { UnsupportedMediaTypeException } from '@nestjs/common';

export type UploadFormat = 'ndjson' | 'csv' | 'json';

const FORMATS: Record<string, UploadFormat> = {
  'application/x-ndjson': 'ndjson',
  'application/ndjson': 'ndjson',
  'application/jsonl': 'ndjson',
  'application/x-jsonlines': 'ndjson',
  'application/jsonlines': 'ndjson',
  'text/csv': 'csv',
  'application/json': 'json',
};

export const UPLOAD_MEDIA_TYPES = Object.keys(FORMATS);

/** The upload's format from its Content-Type; the charset, when given, must be UTF-8. 415 otherwise. */
export function uploadFormat(contentType: string | undefined): UploadFormat {
  const [type, ...parameters] = (contentType ?? '').split(';').map((p) => p.trim().toLowerCase());
  const format = FORMATS[type];
  if (!format) {
    throw new UnsupportedMediaTypeException(
      `Content-Type must be application/x-ndjson, text/csv or application/json (got ${type ? `"${type}"` : 'none'})`,
    );
  }
  const charset = parameters.find((p) => p.startsWith('charset='))?.slice('charset='.length);
  if (charset && !['utf-8', 'utf8', '"utf-8"'].includes(charset)) {
    throw new UnsupportedMediaTypeException(`Uploads must be UTF-8 (got charset=${charset})`);
  }
  return format;
}

/** Paths of the streamed upload route, which the global JSON body parser must leave alone. */
export const UPLOAD_PATH = /^\/api\/datasets\/[^/]+\/versions\/?$/;

/** Whether a request is a dataset upload (POST /api/datasets/{id}/versions), read as a stream. */
export function isDatasetUpload(request: { method?: string; url?: string; originalUrl?: string }): boolean {
  if (request.method !== 'POST') return false;
  const path = (request.originalUrl ?? request.url ?? '').split('?')[0];
  return UPLOAD_PATH.test(path);
}
