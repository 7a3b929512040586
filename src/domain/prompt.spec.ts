import { paramAxis } from './params';
import { promptAsText, promptPlainText, renderMessages, storedPromptMessages } from './prompt';

describe('prompt storage and params', () => {
  const prompt = {
    messages: [
      { role: 'system' as const, content: 'S {{a}}' },
      { role: 'user' as const, content: 'U' },
    ],
  };

  it('stores a messages prompt as the JSON of its rendered messages and reads it back', () => {
    const rendered = renderMessages(prompt, (t) => t.replace('{{a}}', 'x'));
    const text = promptAsText(prompt, rendered);
    expect(text).toBe('[{"role":"system","content":"S x"},{"role":"user","content":"U"}]');
    expect(storedPromptMessages(prompt, text)).toEqual(rendered);
    expect(storedPromptMessages('plain', 'plain text')).toEqual([{ role: 'user', content: 'plain text' }]);
    expect(storedPromptMessages(prompt, 'not json')).toBeNull();
    expect(promptPlainText(prompt)).toBe('S {{a}}\n\nU');
  });

  it('reads $sweep anywhere, literal lists on the structured fields, plain lists elsewhere as sweeps', () => {
    expect(paramAxis('seed', { $sweep: [1, 2] })).toEqual({ kind: 'sweep', values: [1, 2] });
    expect(paramAxis('stop', ['a', 'b'])).toEqual({ kind: 'fixed', value: ['a', 'b'] });
    expect(paramAxis('tools', [{ type: 'function' }])).toEqual({ kind: 'fixed', value: [{ type: 'function' }] });
    expect(paramAxis('temperature', [0, 1])).toEqual({ kind: 'sweep', values: [0, 1] });
    expect(paramAxis('metadata', { team: 'a' })).toEqual({ kind: 'fixed', value: { team: 'a' } });
  });
});
