import { checkZoneFits, measureChanges, ROUTE53_LIMITS } from '../../handlers/core/limits';
import type { Change, ZoneRule } from '../../handlers/core/model';

const ZONE: ZoneRule = {
  hostedZoneId: 'Z1TESTZONE00000000001',
  suffix: 'dyn.example.test',
  ttl: 60,
  types: ['A', 'AAAA'],
  maxValuesPerRecord: 100,
  leaseSeconds: 0,
  allowPrivate: false,
};

describe('ROUTE53_LIMITS', () => {
  it("states Route 53's documented ChangeBatch limits", () => {
    expect(ROUTE53_LIMITS).toEqual({
      elementsPerBatch: 1000,
      charactersPerBatch: 32000,
      valuesPerRecord: 400,
      txtStringLength: 255,
    });
  });
});

describe('measureChanges', () => {
  it('counts every value element and character of DELETE and CREATE alike, TXT quotes included', () => {
    // Arrange
    const changes: Change[] = [
      {
        Action: 'DELETE',
        ResourceRecordSet: {
          Name: 'web.dyn.example.test.',
          Type: 'A',
          TTL: 60,
          ResourceRecords: [{ Value: '192.0.2.1' }],
        },
      },
      {
        Action: 'CREATE',
        ResourceRecordSet: {
          Name: 'web.dyn.example.test.',
          Type: 'A',
          TTL: 60,
          ResourceRecords: [{ Value: '192.0.2.1' }, { Value: '192.0.2.22' }],
        },
      },
      {
        Action: 'CREATE',
        ResourceRecordSet: {
          Name: '_r53dyn.web.dyn.example.test.',
          Type: 'TXT',
          TTL: 60,
          ResourceRecords: [{ Value: '"abc"' }],
        },
      },
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

describe('checkZoneFits', () => {
  // Worst case per owner for A+AAAA: 15 (A) + 39 (AAAA) + 143 (the quoted TXT entry with a 32-character
  // task id, both addresses, a 13-digit t and s=gone for owner r53dyn-local), each DELETE+CREATE:
  // 2 * 197 = 394 characters, so 81 owners take 31914 characters and 82 take 32308.
  it('rejects the A+AAAA zone of the SPEC example at 100 values, and says how far to lower it', () => {
    expect(checkZoneFits(ZONE, 'r53dyn-local')).toEqual([
      'zone Z1TESTZONE00000000001 (dyn.example.test): at maxValuesPerRecord 100, rewriting one record ' +
        '(A, AAAA, TXT, DELETE+CREATE) can take 600 elements and 39400 characters, but Route 53 allows 1000 and ' +
        '32000 per ChangeBatch; set maxValuesPerRecord to at most 81',
    ]);
  });

  it('accepts A+AAAA at 81 values and rejects 82', () => {
    expect(checkZoneFits({ ...ZONE, maxValuesPerRecord: 81 }, 'r53dyn-local')).toEqual([]);
    expect(checkZoneFits({ ...ZONE, maxValuesPerRecord: 82 }, 'r53dyn-local')).toEqual([
      'zone Z1TESTZONE00000000001 (dyn.example.test): at maxValuesPerRecord 82, rewriting one record ' +
        '(A, AAAA, TXT, DELETE+CREATE) can take 492 elements and 32308 characters, but Route 53 allows 1000 and ' +
        '32000 per ChangeBatch; set maxValuesPerRecord to at most 81',
    ]);
  });

  it('accepts the shipped stage zones: A+AAAA at 40 (local) and A only at 100 (example)', () => {
    expect(checkZoneFits({ ...ZONE, maxValuesPerRecord: 40 }, 'r53dyn-local')).toEqual([]);
    expect(checkZoneFits({ ...ZONE, types: ['A'] }, 'r53dyn-prod')).toEqual([]);
  });

  it('rejects A only at the 400 values Route 53 would allow in a record', () => {
    expect(checkZoneFits({ ...ZONE, types: ['A'], maxValuesPerRecord: 400 }, 'r53dyn-local')).toEqual([
      'zone Z1TESTZONE00000000001 (dyn.example.test): at maxValuesPerRecord 400, rewriting one record ' +
        '(A, TXT, DELETE+CREATE) can take 1600 elements and 92800 characters, but Route 53 allows 1000 and ' +
        '32000 per ChangeBatch; set maxValuesPerRecord to at most 137',
    ]);
  });

  it('rejects an owner id long enough to push a registry string past 255 characters', () => {
    expect(checkZoneFits({ ...ZONE, maxValuesPerRecord: 1 }, 'o'.repeat(130))).toEqual([
      "zone Z1TESTZONE00000000001 (dyn.example.test): a registry string can reach 259 characters, over Route 53's 255; shorten the owner id",
    ]);
  });

  it('rejects an owner id outside [a-z0-9-] and a bound outside 1..400', () => {
    expect(checkZoneFits(ZONE, 'R53;dyn')).toEqual(['owner id "R53;dyn" must be [a-z0-9-]']);
    expect(checkZoneFits({ ...ZONE, maxValuesPerRecord: 401 }, 'r53dyn-local')).toEqual([
      'zone Z1TESTZONE00000000001 (dyn.example.test): maxValuesPerRecord 401 must be an integer from 1 to 400',
    ]);
    expect(checkZoneFits({ ...ZONE, maxValuesPerRecord: 0 }, 'r53dyn-local')).toEqual([
      'zone Z1TESTZONE00000000001 (dyn.example.test): maxValuesPerRecord 0 must be an integer from 1 to 400',
    ]);
  });
});
