// The bit copy behind ingest's column-wise row copies, at every alignment, against a bit-by-bit
// reference; and the month a timestamp's part belongs to.
import { expect, test } from 'vitest';
import { copyBits, monthOf, monthOfPart } from '../stages/lib/data/minute-parts.ts';

const bit = (bytes: Uint8Array, i: number) => (bytes[i >> 3]! >> (i & 7)) & 1;

test('copyBits copies any range to any position and counts the zero bits', () => {
  let state = 99;
  const random = () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state;
  };
  const src = Uint8Array.from({ length: 64 }, () => random() & 0xff);
  for (let from = 0; from < 24; from++) {
    for (let at = 0; at < 24; at++) {
      for (const count of [0, 1, 5, 8, 13, 64, 200]) {
        const dst = new Uint8Array(64);
        // Bits before `at` belong to rows already there: they must survive.
        for (let i = 0; i < at; i++) if (i % 3 === 0) dst[i >> 3]! |= 1 << (i & 7);
        const before = Uint8Array.from(dst);
        const nulls = copyBits(src, from, dst, at, count);
        let zeros = 0;
        for (let i = 0; i < 512; i++) {
          const want = i < at ? bit(before, i) : i < at + count ? bit(src, from + i - at) : 0;
          if (bit(dst, i) !== want) throw new Error(`from ${from} at ${at} count ${count}: bit ${i} is ${bit(dst, i)}, expected ${want}`);
        }
        for (let i = 0; i < count; i++) zeros += 1 - bit(src, from + i);
        expect(nulls).toBe(zeros);
      }
    }
  }
});

test('copyBits with no source bitmap marks every row present', () => {
  const dst = new Uint8Array(8);
  expect(copyBits(null, 0, dst, 3, 20)).toBe(0);
  expect([...dst.slice(0, 4)]).toEqual([0b11111000, 0xff, 0b01111111, 0]);
});

test('a timestamp belongs to the part of its UTC month, whose name gives the month back', () => {
  const t = Date.UTC(2022, 1, 28, 23, 59) / 1000;
  expect(monthOf(t)).toEqual({ name: '2022-02.arrow', start: Date.UTC(2022, 1, 1) / 1000, end: Date.UTC(2022, 2, 1) / 1000 });
  expect(monthOf(t + 60).name).toBe('2022-03.arrow');
  expect(monthOfPart('2022-12.arrow')).toEqual({ name: '2022-12.arrow', start: Date.UTC(2022, 11, 1) / 1000, end: Date.UTC(2023, 0, 1) / 1000 });
  expect(monthOfPart('2022-13.arrow')).toBeUndefined();
  expect(monthOfPart('notes.txt')).toBeUndefined();
});
