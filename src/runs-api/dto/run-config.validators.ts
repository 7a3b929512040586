import { type ValidationOptions, registerDecorator } from 'class-validator';
import { isPlainObject } from '../../common/is-plain-object';

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

/** A prompt: a string or an object (`{messages}`; its messages are checked by adHocConfigProblems, naming each path). */
export function IsStringOrObject(options?: ValidationOptions): PropertyDecorator {
  return (target: object, propertyName: string | symbol) =>
    registerDecorator({
      name: 'isStringOrObject',
      target: target.constructor,
      propertyName: propertyName as string,
      options: { message: '$property must be a non-empty string or {"messages": [{role, content}, …]}', ...options },
      validator: {
        validate: (value: unknown) => (typeof value === 'string' && value.trim() !== '') || isPlainObject(value),
      },
    });
}
