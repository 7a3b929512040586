import { LABEL, parsePromptRef } from './prompt-ref';
import { promptTemplateProblems, templateTexts } from './prompt-template';

describe('parsePromptRef', () => {
  it('reads versions, labels and latest', () => {
    expect(parsePromptRef('summarise@3')).toEqual({ name: 'summarise', selector: { version: 3 } });
    expect(parsePromptRef('summarise@production')).toEqual({ name: 'summarise', selector: { label: 'production' } });
    expect(parsePromptRef('a.b-c_d@latest')).toEqual({ name: 'a.b-c_d', selector: { label: 'latest' } });
  });

  it('refuses malformed references', () => {
    for (const ref of [
      'summarise',
      '@3',
      'summarise@',
      'summarise@0',
      'summarise@03',
      'sum mary@1',
      'x@Prod',
      'x@a_b',
    ]) {
      expect(parsePromptRef(ref)).toBeNull();
    }
  });

  it('keeps labels apart from version numbers', () => {
    expect(LABEL.test('production')).toBe(true);
    expect(LABEL.test('v2-canary')).toBe(true);
    expect(LABEL.test('42')).toBe(false);
    expect(LABEL.test('x'.repeat(41))).toBe(false);
  });
});

describe('prompt templates', () => {
  it('accepts a string or chat messages and lists their texts', () => {
    const chat = {
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: '{{q}}' },
      ],
    };
    expect(promptTemplateProblems('Hi {{name}}', 't')).toEqual([]);
    expect(promptTemplateProblems(chat, 't')).toEqual([]);
    expect(templateTexts(chat as never)).toEqual(['Be brief.', '{{q}}']);
  });

  it('names every problem', () => {
    expect(promptTemplateProblems(3, 't')).toEqual(['t must be a string or {"messages": [...]}']);
    expect(promptTemplateProblems({ messages: [] }, 't')).toEqual([
      't.messages must be a non-empty array of {role, content}',
    ]);
    expect(promptTemplateProblems({ messages: [{ role: 'user', content: 'x', name: 'n' }] }, 't')).toEqual([
      't.messages[0].name is not allowed',
    ]);
  });
});
