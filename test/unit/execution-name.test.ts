import { executionName } from '../../handlers/core/execution-name';
import type { ZonePart } from '../../handlers/core/plan';

const PART: ZonePart = {
  hostedZoneId: 'Z1TESTZONE00000000001',
  index: 1,
  count: 2,
  records: [],
  changes: [
    {
      Action: 'CREATE',
      ResourceRecordSet: {
        Name: 'web.dyn.example.test.',
        Type: 'A',
        TTL: 60,
        ResourceRecords: [{ Value: '192.0.2.1' }],
      },
    },
  ],
  messageIds: ['m-1', 'm-2'],
};

describe('executionName', () => {
  it('reads as zone, part and a hash of the plan', () => {
    // Act
    const name = executionName(PART);

    // Assert: pinned, because a name that changes across a deploy would let a redelivered batch run twice
    // (sha256 of ["Z1TESTZONE00000000001",1,2,[["CREATE","web.dyn.example.test.","A",60,["192.0.2.1"]]],["m-1","m-2"]])
    expect(name).toBe('Z1TESTZONE00000000001-p1of2-7625a1f8f0be79251275fb4200e9ab5e');
  });

  it('is the same for the same part, whatever the order of its message ids', () => {
    expect(executionName({ ...PART, messageIds: ['m-2', 'm-1'] })).toBe(executionName(PART));
    expect(executionName(structuredClone(PART))).toBe(executionName(PART));
  });

  it('differs when the changes, the messages or the part differ', () => {
    // Arrange
    const other = structuredClone(PART);
    const [first] = other.changes;
    if (first) first.ResourceRecordSet.ResourceRecords = [{ Value: '192.0.2.2' }];
    const variants = [
      other,
      { ...PART, messageIds: ['m-1'] },
      { ...PART, messageIds: ['m-1', 'm-2', 'm-3'] },
      { ...PART, index: 2 },
      { ...PART, count: 3 },
      { ...PART, hostedZoneId: 'Z1TESTZONE00000000002' },
    ];

    // Act
    const names = new Set([PART, ...variants].map(executionName));

    // Assert
    expect(names.size).toBe(variants.length + 1);
  });

  it('keeps within 80 characters of [A-Za-z0-9-_], trimming the zone id rather than the hash', () => {
    // Arrange
    const long = { ...PART, hostedZoneId: `/hostedzone/Z${'9'.repeat(60)}.x`, index: 12, count: 12 };

    // Act
    const name = executionName(long);

    // Assert
    expect(name).toMatch(/^Z9{38}-p12of12-[0-9a-f]{32}$/);
    expect(name).toHaveLength(80);
  });
});
