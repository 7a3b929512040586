import { type ArgumentsHost, BadRequestException, Logger, NotFoundException } from '@nestjs/common';
import { QueryFailedError } from 'typeorm';
import { AllExceptionsFilter } from './all-exceptions.filter';
import { conflict, ErrorCode, invalid, notFound } from './domain-error';

function host(headers: Record<string, string> = {}) {
  const res = { statusCode: 0, body: undefined as unknown, headersSent: false };
  const response = {
    headersSent: false,
    status(code: number) {
      res.statusCode = code;
      return this;
    },
    json(body: unknown) {
      res.body = body;
      return this;
    },
    end: jest.fn(),
  };
  const request = { method: 'GET', url: '/api/x?ticket=sset_secret', path: '/api/x', headers };
  const h = {
    switchToHttp: () => ({ getResponse: () => response, getRequest: () => request }),
  } as unknown as ArgumentsHost;
  return { h, res };
}

describe('AllExceptionsFilter', () => {
  const filter = new AllExceptionsFilter();
  let errorLog: jest.SpyInstance;
  beforeEach(() => {
    errorLog = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  });
  afterEach(() => errorLog.mockRestore());

  it('maps domain errors to the standard body, validation problems as a list', () => {
    const a = host();
    filter.catch(notFound('Run not found'), a.h);
    expect(a.res).toMatchObject({
      statusCode: 404,
      body: { statusCode: 404, message: 'Run not found', error: 'Not Found' },
    });
    const b = host();
    filter.catch(invalid(['a must be x', 'b must be y']), b.h);
    expect(b.res.body).toEqual({ statusCode: 400, message: ['a must be x', 'b must be y'], error: 'Bad Request' });
    const c = host();
    filter.catch(conflict('Experiment already launched'), c.h);
    expect(c.res.statusCode).toBe(409);
    // A feature code keeps the contract's body: the code is for callers and logs, the message is the contract's.
    const d = host();
    filter.catch(conflict('Run already finished', ErrorCode.RunAlreadyFinished), d.h);
    expect(d.res.body).toEqual({ statusCode: 409, message: 'Run already finished', error: 'Conflict' });
  });

  it('lists the first 50 problems and counts the rest, for domain errors and Nest validation alike', () => {
    const many = Array.from({ length: 40_000 }, (_, i) => `config.inputs[${i}] must be an object`);
    const a = host();
    filter.catch(invalid([...many, '… and 7 more missing input variable(s)']), a.h);
    const listed = (a.res.body as { message: string[] }).message;
    expect(listed).toHaveLength(51);
    expect(listed[49]).toBe('config.inputs[49] must be an object');
    expect(listed[50]).toBe('… and 39957 more problem(s)');
    const b = host();
    filter.catch(new BadRequestException(many), b.h);
    expect((b.res.body as { message: string[] }).message).toHaveLength(51);
    expect(JSON.stringify(b.res.body).length).toBeLessThan(5000);
  });

  it('keeps HttpExceptions as Nest shapes them', () => {
    const a = host();
    filter.catch(new NotFoundException('Experiment not found'), a.h);
    expect(a.res.body).toEqual({ statusCode: 404, message: 'Experiment not found', error: 'Not Found' });
  });

  it('turns unique violations into 409', () => {
    const a = host();
    const err = new QueryFailedError('INSERT …', [], Object.assign(new Error('duplicate key'), { code: '23505' }));
    filter.catch(err, a.h);
    expect(a.res).toMatchObject({ statusCode: 409, body: { statusCode: 409, error: 'Conflict' } });
  });

  it('keeps body-parser 4xx statuses (413 too large)', () => {
    const a = host();
    filter.catch(Object.assign(new Error('request entity too large'), { status: 413, type: 'entity.too.large' }), a.h);
    expect(a.res).toMatchObject({ statusCode: 413, body: { statusCode: 413, error: 'Payload Too Large' } });
  });

  it('answers anything else with a plain 500 and logs the details under the request id', () => {
    const a = host({ 'x-request-id': 'req-123' });
    filter.catch(new Error('secret internals: password=hunter2'), a.h);
    expect(a.res.statusCode).toBe(500);
    expect(a.res.body).toEqual({
      statusCode: 500,
      message: 'Internal server error',
      error: 'Internal Server Error',
      request_id: 'req-123',
    });
    expect(JSON.stringify(a.res.body)).not.toContain('hunter2');
    expect(errorLog).toHaveBeenCalledTimes(1);
    expect(String(errorLog.mock.calls[0][0])).toContain('req-123');
    expect(String(errorLog.mock.calls[0][0])).toContain('secret internals');
    expect(String(errorLog.mock.calls[0][0])).not.toContain('sset_secret');
  });

  it('makes up a request id when the client sent none', () => {
    const a = host();
    filter.catch(new TypeError('boom'), a.h);
    expect((a.res.body as { request_id: string }).request_id).toMatch(/^[0-9a-f-]{36}$/);
  });
});
