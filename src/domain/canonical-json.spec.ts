import { createHash } from 'crypto';
import { computeConfigHash } from './canonical-json';

const sha = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');

describe('computeConfigHash', () => {
  it('hashes the canonical JSON with sorted keys at every depth and defaults', () => {
    const h = computeConfigHash({
      model: 'mock:echo',
      prompt: 'Hi {{x}}',
      input_data: { x: 'é', a: [1, { z: 1, b: 2 }] },
    });
    expect(h).toBe(
      sha('{"input_data":{"a":[1,{"b":2,"z":1}],"x":"é"},"model":"mock:echo","params":{},"prompt":"Hi {{x}}"}'),
    );
    expect(computeConfigHash({ model: 'm', prompt: 'p' })).toBe(
      sha('{"input_data":"","model":"m","params":{},"prompt":"p"}'),
    );
  });

  it('writes numbers as JavaScript does and ignores key order', () => {
    const a = computeConfigHash({ prompt: 'p', model: 'm', params: { temperature: 0.7, max_tokens: 256, top_p: 1.0 } });
    const b = computeConfigHash({ model: 'm', params: { top_p: 1, max_tokens: 256, temperature: 0.7 }, prompt: 'p' });
    expect(a).toBe(b);
    expect(a).toBe(
      sha('{"input_data":"","model":"m","params":{"max_tokens":256,"temperature":0.7,"top_p":1},"prompt":"p"}'),
    );
  });
});
