import { ScorerError } from '../scorer';
import { renderRubric } from './judge-rubric';

describe('judge rubric', () => {
  it('fills output, input fields (both spellings) and the whole input', () => {
    const input = { ticket: 'Printer on fire 🔥', n: 3, tags: ['a'] };
    expect(renderRubric('T: {{input.ticket}} / {{ ticket }} / {{n}} / {{tags}}\nO: {{output}}', 'Call IT', input)).toBe(
      'T: Printer on fire 🔥 / Printer on fire 🔥 / 3 / ["a"]\nO: Call IT',
    );
    expect(renderRubric('{{input}}', 'x', input)).toBe(JSON.stringify(input));
    expect(renderRubric('{{input}} → {{output}}', 'x', 'plain text input')).toBe('plain text input → x');
  });

  it('always reads {{output}} as the run output; the input field is {{input.output}}', () => {
    expect(renderRubric('{{output}} vs {{input.output}}', 'real', { output: 'field' })).toBe('real vs field');
  });

  it('inserts values literally, even with $ patterns or braces', () => {
    expect(renderRubric('[{{output}}]', '$& $1 $$ {{ticket}}', { ticket: 'T' })).toBe('[$& $1 $$ {{ticket}}]');
  });

  it('refuses to send a half-filled rubric', () => {
    expect(() => renderRubric('{{output}} {{missing}} {{input.other}}', 'x', { ticket: 't' })).toThrow(ScorerError);
    expect(() => renderRubric('{{output}} {{missing}} {{input.other}}', 'x', { ticket: 't' })).toThrow(
      '{{missing}}, {{input.other}}',
    );
    expect(() => renderRubric('{{ticket}}', 'x', 'string input')).toThrow(/missing/);
  });

  it('shows the rendered messages the run sent: a transcript and their JSON', () => {
    const messages = [
      { role: 'system', content: 'Be terse.' },
      { role: 'user', content: 'Ticket: late' },
    ];
    expect(renderRubric('{{run.prompt}}\n---\n{{output}}', 'ok', {}, { messages })).toBe(
      'system: Be terse.\n\nuser: Ticket: late\n---\nok',
    );
    expect(renderRubric('{{run.messages}}', 'ok', {}, { messages })).toBe(JSON.stringify(messages));
    expect(renderRubric('{{run.prompt}}', 'ok', {}, { messages: [{ role: 'user', content: 'plain' }] })).toBe('plain');
    expect(() => renderRubric('{{run.prompt}} {{output}}', 'ok', {})).toThrow('{{run.prompt}}');
  });
});
