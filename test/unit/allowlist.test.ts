import { AllowlistError, parseAllowlist } from '../../handlers/core/allowlist';

function problemsOf(raw: unknown): string[] {
  try {
    parseAllowlist(raw);
  } catch (error) {
    if (error instanceof AllowlistError) return error.problems;
    throw error;
  }
  throw new Error('expected an AllowlistError');
}

describe('parseAllowlist', () => {
  test('fills in the defaults and normalises', () => {
    // Arrange
    const raw = {
      zones: [{ hostedZoneId: '/hostedzone/Z0123456789ABCDEFGHIJ', suffix: 'Dyn.Example.COM.' }],
    };

    // Act
    const allowlist = parseAllowlist(raw);

    // Assert
    expect(allowlist).toStrictEqual({
      zones: [
        {
          hostedZoneId: 'Z0123456789ABCDEFGHIJ',
          suffix: 'dyn.example.com',
          ttl: 60,
          types: ['A', 'AAAA'],
          maxValuesPerRecord: 100,
          leaseSeconds: 0,
          allowPrivate: false,
        },
      ],
    });
  });

  test('keeps explicit values', () => {
    // Arrange
    const zone = {
      hostedZoneId: 'Z2',
      suffix: 'lab.example.com',
      ttl: 0,
      types: ['AAAA'],
      maxValuesPerRecord: 400,
      leaseSeconds: 300,
      allowPrivate: true,
    };

    // Act / Assert
    expect(parseAllowlist({ zones: [zone] })).toStrictEqual({ zones: [zone] });
  });

  test('accepts LocalStack zone ids, which need not start with Z', () => {
    expect(
      parseAllowlist({ zones: [{ hostedZoneId: '/hostedzone/OQ1R4HZ3LL9GCLT', suffix: 'dyn.example.com' }] }),
    ).toMatchObject({ zones: [{ hostedZoneId: 'OQ1R4HZ3LL9GCLT' }] });
  });

  test('fails closed: no zones allows nothing', () => {
    expect([parseAllowlist({}), parseAllowlist({ zones: [] })]).toStrictEqual([{ zones: [] }, { zones: [] }]);
  });

  test('the error is named for matching after minification', () => {
    // Act
    const error = (() => {
      try {
        parseAllowlist(null);
      } catch (caught) {
        return caught;
      }
    })();

    // Assert
    expect(error).toBeInstanceOf(AllowlistError);
    expect(error).toMatchObject({
      name: 'AllowlistError',
      message: 'invalid allowlist: (root): Invalid input: expected object, received null',
    });
  });

  test('lists every problem with its path', () => {
    // Arrange
    const raw = {
      zones: [
        { hostedZoneId: 'z123', suffix: '*.example.com', ttl: 1.5, types: [], allowPrivte: true },
        { hostedZoneId: 'Z2', suffix: 'b.example.com', types: ['A', 'A', 'MX'], maxValuesPerRecord: 401 },
      ],
      stage: 'prod',
    };

    // Act / Assert
    expect(problemsOf(raw)).toEqual([
      'zones.0.hostedZoneId: must be 1 to 32 upper-case letters or digits',
      'zones.0.suffix: "*.example.com" contains a wildcard (*)',
      'zones.0.ttl: Invalid input: expected int, received number',
      'zones.0.types: must list at least one of A, AAAA',
      'zones.0: Unrecognized key: "allowPrivte"',
      'zones.1.types.2: Invalid option: expected one of "A"|"AAAA"',
      'zones.1.maxValuesPerRecord: Too big: expected number to be <=400',
      '(root): Unrecognized key: "stage"',
    ]);
  });

  test.each([
    ['ttl', { ttl: -1 }, 'zones.0.ttl: Too small: expected number to be >=0'],
    ['ttl', { ttl: 2147483648 }, 'zones.0.ttl: Too big: expected number to be <=2147483647'],
    [
      'maxValuesPerRecord',
      { maxValuesPerRecord: 0 },
      'zones.0.maxValuesPerRecord: Too small: expected number to be >=1',
    ],
    ['leaseSeconds', { leaseSeconds: -5 }, 'zones.0.leaseSeconds: Too small: expected number to be >=0'],
    [
      'allowPrivate',
      { allowPrivate: 'yes' },
      'zones.0.allowPrivate: Invalid input: expected boolean, received string',
    ],
    ['types', { types: ['A', 'A'] }, 'zones.0.types: must not repeat a type'],
    [
      'hostedZoneId',
      { hostedZoneId: `Z${'A'.repeat(32)}` },
      'zones.0.hostedZoneId: must be 1 to 32 upper-case letters or digits',
    ],
    [
      'hostedZoneId',
      { hostedZoneId: 'hostedzone/Z1' },
      'zones.0.hostedZoneId: must be 1 to 32 upper-case letters or digits',
    ],
    ['suffix', { suffix: 'dyn..example.com' }, 'zones.0.suffix: "dyn..example.com" has an empty label'],
    [
      'suffix',
      { suffix: 'dyn.exämple.com' },
      'zones.0.suffix: "dyn.exämple.com" contains non-ASCII characters; write internationalised labels in punycode (xn--)',
    ],
  ])('rejects a bad %s', (_, override, problem) => {
    expect(problemsOf({ zones: [{ hostedZoneId: 'Z1', suffix: 'dyn.example.com', ...override }] })).toEqual([
      problem,
    ]);
  });

  test('rejects duplicate zone ids and suffixes, however they are written', () => {
    // Arrange
    const raw = {
      zones: [
        { hostedZoneId: 'Z1', suffix: 'a.example.com' },
        { hostedZoneId: '/hostedzone/Z1', suffix: 'b.example.com' },
        { hostedZoneId: 'Z3', suffix: 'A.Example.com.' },
      ],
    };

    // Act / Assert
    expect(problemsOf(raw)).toEqual([
      'zones.1.hostedZoneId: duplicate hostedZoneId Z1',
      'zones.2.suffix: duplicate suffix a.example.com',
    ]);
  });
});
