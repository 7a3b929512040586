import { type ValidationOptions, registerDecorator } from 'class-validator';
import { isPlainObject } from '../../common/is-plain-object';

const isScalar = (value: unknown): boolean =>
  value === null ||
  typeof value === 'string' ||
  typeof value === 'boolean' ||
  (typeof value === 'number' && Number.isFinite(value));

/** An object whose values are all scalars (string, finite number, boolean, null): a run's `params`. */
export function IsScalarRecord(options?: ValidationOptions): PropertyDecorator {
  return (target: object, propertyName: string | symbol) =>
    registerDecorator({
      name: 'isScalarRecord',
      target: target.constructor,
      propertyName: propertyName as string,
      options: {
        message: '$property must be an object whose values are strings, numbers, booleans or null',
        ...options,
      },
      validator: { validate: (value: unknown) => isPlainObject(value) && Object.values(value).every(isScalar) },
    });
}

/** `input_data`: the template variables (an object) or a single string. */
export function IsObjectOrString(options?: ValidationOptions): PropertyDecorator {
  return (target: object, propertyName: string | symbol) =>
    registerDecorator({
      name: 'isObjectOrString',
      target: target.constructor,
      propertyName: propertyName as string,
      options: { message: '$property must be an object or a string', ...options },
      validator: { validate: (value: unknown) => typeof value === 'string' || isPlainObject(value) },
    });
}
