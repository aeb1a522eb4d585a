// Route 53's ChangeBatch limits and what they mean for a zone (docs/design.md §5.1, §5.2). The worst registry
// string for owner r53dyn-test (11 characters) is
//   "r53dyn=1;o=r53dyn-test;i=<32-hex task id>;4=255.255.255.255;6=<39-character IPv6>;t=<13 digits>;s=up"
// 140 characters with both addresses, 98 with IPv4 only. A worst-case record rewrite is DELETE + CREATE of A
// (15 characters a value), AAAA (39) and the TXT, so each machine costs 2 * (15 + 39 + 140) = 388 characters
// in an A+AAAA zone, and 2 * (15 + 98) = 226 in an A-only one.
import { ROUTE53_LIMITS } from '../../handlers/core/contract';
import {
  checkZoneFits,
  fitsOneBatch,
  measureChanges,
  registryCapacity,
  txtStringLength,
} from '../../handlers/core/limits';
import type { Change } from '../../handlers/core/model';
import { registryName } from '../../handlers/core/registry';
import { dynZone, fqdn, OWNER, rrset, v4Zone, zoneWith } from '../helpers/messages';

const WEB = fqdn('web');
const where = 'zone Z1TESTZONE00000000001 (dyn.example.test)';

describe('ROUTE53_LIMITS', () => {
  it("states Route 53's documented ChangeBatch limits", () => {
    const { elementsPerBatch, charactersPerBatch, valuesPerRecord, txtStringLength: txt } = ROUTE53_LIMITS;

    expect([elementsPerBatch, charactersPerBatch, valuesPerRecord, txt]).toEqual([1000, 32000, 400, 255]);
  });
});

describe('measureChanges', () => {
  it('counts every value element and character of DELETE and CREATE alike, TXT quotes included', () => {
    // Arrange
    const changes: Change[] = [
      { Action: 'DELETE', ResourceRecordSet: rrset(WEB, 'A', ['192.0.2.1']) },
      { Action: 'CREATE', ResourceRecordSet: rrset(WEB, 'A', ['192.0.2.1', '192.0.2.22']) },
      { Action: 'CREATE', ResourceRecordSet: rrset(registryName(WEB), 'TXT', ['"abc"']) },
    ];

    // Act
    const size = measureChanges(changes);

    // Assert: 9 + 9 + 10 + 5
    expect(size).toEqual({ elements: 4, characters: 33 });
  });

  it('measures an empty change list as nothing', () => {
    expect(measureChanges([])).toEqual({ elements: 0, characters: 0 });
  });
});

describe('fitsOneBatch and txtStringLength', () => {
  it.each([
    [{ elements: 1000, characters: 32000 }, true],
    [{ elements: 1001, characters: 1 }, false],
    [{ elements: 1, characters: 32001 }, false],
  ])('%j fits: %s', (size, fits) => {
    expect(fitsOneBatch(size)).toBe(fits);
  });

  it('counts the characters between a TXT string’s quotes', () => {
    expect([txtStringLength('"abc"'), txtStringLength('abc'), txtStringLength('"')]).toEqual([3, 3, 1]);
  });
});

describe('registryCapacity', () => {
  it.each([
    // (32000 - 40 * 2 * (15 + 39)) / (2 * 140) = 98.9
    ['A+AAAA at 40 values', dynZone, 98],
    // (32000 - 100 * 2 * 15) / (2 * 98) = 147.96
    ['A only at 100 values', v4Zone, 147],
    // (32000 - 2 * 15) / (2 * 98) = 163.1
    ['A only at 1 value', zoneWith({ types: ['A'], maxValuesPerRecord: 1 }), 163],
    // (32000 - 82 * 2 * (15 + 39)) / (2 * 140) = 82.6
    ['A+AAAA at 82 values', zoneWith({ maxValuesPerRecord: 82 }), 82],
  ])('%s: %i entries', (_, zone, capacity) => {
    expect(registryCapacity(zone, OWNER)).toBe(capacity);
  });
});

describe('checkZoneFits', () => {
  it('rejects A+AAAA at 100 values, and says how far to lower it', () => {
    expect(checkZoneFits(zoneWith({ maxValuesPerRecord: 100 }), OWNER)).toEqual([
      `${where}: at maxValuesPerRecord 100, rewriting one record ` +
        '(A, AAAA, TXT, DELETE+CREATE) can take 600 elements and 38800 characters, but Route 53 allows 1000 and ' +
        '32000 per ChangeBatch; set maxValuesPerRecord to at most 82',
    ]);
  });

  it('accepts A+AAAA at 82 values (31,816 characters) and rejects 83 (32,204)', () => {
    expect(checkZoneFits(zoneWith({ maxValuesPerRecord: 82 }), OWNER)).toEqual([]);
    expect(checkZoneFits(zoneWith({ maxValuesPerRecord: 83 }), OWNER)).toEqual([
      `${where}: at maxValuesPerRecord 83, rewriting one record ` +
        '(A, AAAA, TXT, DELETE+CREATE) can take 498 elements and 32204 characters, but Route 53 allows 1000 and ' +
        '32000 per ChangeBatch; set maxValuesPerRecord to at most 82',
    ]);
  });

  it('accepts the test zones and the shipped stages’ bounds', () => {
    expect(checkZoneFits(dynZone, OWNER)).toEqual([]);
    expect(checkZoneFits(v4Zone, 'r53dyn-prod')).toEqual([]);
  });

  it('rejects A only at the 400 values Route 53 would allow in a record', () => {
    expect(checkZoneFits(zoneWith({ types: ['A'], maxValuesPerRecord: 400 }), OWNER)).toEqual([
      `${where}: at maxValuesPerRecord 400, rewriting one record ` +
        '(A, TXT, DELETE+CREATE) can take 1600 elements and 90400 characters, but Route 53 allows 1000 and ' +
        '32000 per ChangeBatch; set maxValuesPerRecord to at most 141',
    ]);
  });

  it('keeps every registry string within 255 characters for the longest owner id the contract allows', () => {
    // 140 - 11 + 40 = 169 characters
    expect(checkZoneFits(zoneWith({ maxValuesPerRecord: 1 }), 'o'.repeat(40))).toEqual([]);
  });

  it('rejects an invalid owner id and a bound outside 1..400', () => {
    expect(checkZoneFits(dynZone, 'R53;dyn')).toEqual(['owner id "R53;dyn" is not a valid owner id']);
    expect(checkZoneFits(zoneWith({ maxValuesPerRecord: 401 }), OWNER)).toEqual([
      `${where}: maxValuesPerRecord 401 must be an integer from 1 to 400`,
    ]);
    expect(checkZoneFits(zoneWith({ maxValuesPerRecord: 0 }), OWNER)).toEqual([
      `${where}: maxValuesPerRecord 0 must be an integer from 1 to 400`,
    ]);
  });
});
