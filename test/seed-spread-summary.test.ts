// summarizeSpread on hand-made ratios: every expected figure below is counted by hand from the listed
// ratios (sorted order, median, shares), so a slip in the median index, a comparison turned round or a
// share over the wrong count shows up as a wrong number.
import { describe, expect, it } from 'vitest';
import { summarizeSpread } from '../stages/lib/model/seed-spread.ts';

describe('summarizeSpread', () => {
  it('an odd count: the middle value is the median; 1.0 does not beat persistence; ±0.09 is within 10%, ±0.11 is not', () => {
    // All five, sorted: 0.89 0.91 1.0 1.09 1.11 → median 1.0 (the third).
    // Within 10% (|r − 1| ≤ 0.1): 0.91, 1.0, 1.09 → 3 of 5. Below 1: 0.89, 0.91 → 2 of 5.
    // Other seeds below the model's 1.0: 0.89, 0.91 → 2 of the 4 others.
    const others = [0.89, 1.11, 0.91, 1.09];
    expect(summarizeSpread(1.0, others)).toEqual({
      seeds: 5,
      rmse_ratio_min: 0.89,
      rmse_ratio_median: 1.0,
      rmse_ratio_max: 1.11,
      within_10pct: 0.6,
      beats_persistence: 0.4,
      better_than_model: 0.5,
    });
    expect(others).toEqual([0.89, 1.11, 0.91, 1.09]);
  });

  it('an even count: the median is the mean of the two middle values', () => {
    // Sorted: 0.7 0.94 1.06 1.2 → median (0.94 + 1.06) / 2 = 1.0.
    // Within 10%: 0.94, 1.06 → 2 of 4. Below 1: 0.7, 0.94 → 2 of 4.
    // Others below the model's 1.06: 0.7, 0.94 → 2 of 3.
    const summary = summarizeSpread(1.06, [0.7, 1.2, 0.94]);
    expect(summary).not.toBeNull();
    const { rmse_ratio_median, ...rest } = summary!;
    expect(rmse_ratio_median).toBeCloseTo(1.0, 12);
    expect(rest).toEqual({
      seeds: 4,
      rmse_ratio_min: 0.7,
      rmse_ratio_max: 1.2,
      within_10pct: 0.5,
      beats_persistence: 0.5,
      better_than_model: 2 / 3,
    });
  });

  it('other seeds that tie with the model are not better than it', () => {
    // Sorted: 0.98 1.02 1.02 1.02 1.3 → median 1.02. Within 10%: 0.98 and the three 1.02 → 4 of 5.
    // Below 1: 0.98 → 1 of 5. Others strictly below 1.02: 0.98 → 1 of 4 (the two ties do not count).
    expect(summarizeSpread(1.02, [1.02, 1.3, 0.98, 1.02])).toEqual({
      seeds: 5,
      rmse_ratio_min: 0.98,
      rmse_ratio_median: 1.02,
      rmse_ratio_max: 1.3,
      within_10pct: 0.8,
      beats_persistence: 0.2,
      better_than_model: 0.25,
    });
  });

  it('the model counts in the range and shares, but not in better_than_model', () => {
    // The model (0.5) is the minimum and the only seed beating persistence; the one other seed is worse.
    expect(summarizeSpread(0.5, [1.5])).toEqual({
      seeds: 2,
      rmse_ratio_min: 0.5,
      rmse_ratio_median: 1.0,
      rmse_ratio_max: 1.5,
      within_10pct: 0,
      beats_persistence: 0.5,
      better_than_model: 0,
    });
  });

  it('without other seeds there is no spread', () => {
    expect(summarizeSpread(0.95, [])).toBeNull();
  });
});
