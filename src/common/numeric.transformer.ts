import { type ValueTransformer } from 'typeorm';

/** pg returns `numeric` as a string to keep precision; the API speaks numbers, so convert at the edge. */
export const numericTransformer: ValueTransformer = {
  to: (value: number | null | undefined) => value,
  from: (value: string | null | undefined): number | null =>
    value === null || value === undefined ? null : Number(value),
};
