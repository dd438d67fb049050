import { describe, expect, it } from 'vitest';
import { overallProgress, STAGES } from '../src/core/report.js';

describe('overall progress', () => {
  it('rises from 0 to 1 through the stages in the order they run', () => {
    const figures = STAGES.flatMap((stage) => [0, 0.5, 1].map((progress) => overallProgress({ stage, progress })));
    expect(figures[0]).toBe(0);
    expect(figures.at(-1)).toBe(1);
    expect(figures).toEqual([...figures].sort((a, b) => a - b));
    // The two model passes take most of the bar.
    expect(overallProgress({ stage: 'background', progress: 1 }) - overallProgress({ stage: 'background', progress: 0 })).toBeGreaterThan(
      0.4,
    );
    expect(overallProgress({ stage: 'encode', progress: 7 })).toBe(1);
  });
});
