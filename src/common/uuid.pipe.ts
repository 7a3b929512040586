import { ParseUUIDPipe } from '@nestjs/common';

/** Path ids must be UUIDs: anything else is a 400 before any lookup. */
export const UuidPipe = new ParseUUIDPipe({ version: undefined });
