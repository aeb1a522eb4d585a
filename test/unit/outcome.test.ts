// What the previous execution tells the planner: one test per row of the table in docs/design.md §4.5.
import {
  namesIn,
  type PreviousExecution,
  type Verdict,
  verdictsOf,
  WORKFLOW_ERRORS,
} from '../../handlers/core/outcome';

const SUFFIX = 'dyn.example.test';
const NAME = 'Z1TESTZONE00000000001-delta-1-r1';
const ended = (status: PreviousExecution['status']) => `execution ${NAME} ended ${status}`;

const failed = (error: string, cause: string): PreviousExecution => ({
  name: NAME,
  status: 'FAILED',
  error,
  cause,
});
const partsFailed = (...parts: { records: string[]; error: string; cause: string }[]) =>
  failed(WORKFLOW_ERRORS.partsFailed, JSON.stringify(parts));
const zone = { zone: true } as const;
const records = (...names: string[]) => ({ records: new Set(names) });

describe('verdictsOf, row by row', () => {
  it.each(['RUNNING', 'SUCCEEDED', 'PENDING_REDRIVE'] as const)('%s: no verdict (plan again)', (status) => {
    expect(verdictsOf({ name: NAME, status }, SUFFIX)).toEqual([]);
  });

  it.each(['TIMED_OUT', 'ABORTED'] as const)(
    '%s: retry the zone, past the bound workflow-error',
    (status) => {
      expect(verdictsOf({ name: NAME, status }, SUFFIX)).toEqual([
        { kind: 'retry', scope: zone, reason: `workflow-error: ${ended(status)} before it finished` },
      ]);
    },
  );

  it.each([
    [WORKFLOW_ERRORS.settingsUnavailable, 'no SSM entry for zone Z1TESTZONE00000000001'],
    ['Ssm.ParameterNotFound', 'Parameter /r53dyn/test/zones/Z1TESTZONE00000000001 not found'],
  ])('%s: retry the zone, past the bound settings-unavailable', (error, cause) => {
    expect(verdictsOf(failed(error, cause), SUFFIX)).toEqual([
      { kind: 'retry', scope: zone, reason: `settings-unavailable: ${ended('FAILED')}: ${cause}` },
    ]);
  });

  it.each([
    ['Route53.ThrottlingException', 'Rate exceeded'],
    [
      'Route53.PriorRequestNotCompleteException',
      'The request was rejected because Route 53 was still processing a prior request',
    ],
  ])('PartsFailed with %s: retry the part’s records, past the bound retries-exhausted', (error, cause) => {
    const verdicts = verdictsOf(partsFailed({ records: ['web', 'api'], error, cause }), SUFFIX);

    expect(verdicts).toEqual([
      {
        kind: 'retry',
        scope: records('web', 'api'),
        reason: `retries-exhausted: ${ended('FAILED')}: ${error}: ${cause}`,
      },
    ]);
  });

  it.each([
    "Tried to create resource record set [name='web.dyn.example.test.', type='A'] but it already exists",
    "Tried to delete resource record set [name='web.dyn.example.test.', type='A'] but it was not found",
    "Tried to delete resource record set [name='web.dyn.example.test.', type='A'] but the values provided do not match the current values",
  ])(
    'PartsFailed, InvalidChangeBatch "%s": retry (another writer), past the bound write-conflict',
    (cause) => {
      const error = 'Route53.InvalidChangeBatchException';

      expect(verdictsOf(partsFailed({ records: ['web', 'api'], error, cause }), SUFFIX)).toEqual([
        {
          kind: 'retry',
          scope: records('web', 'api'),
          reason: `write-conflict: ${ended('FAILED')}: ${error}: ${cause}`,
        },
      ]);
    },
  );

  describe('PartsFailed, any other InvalidChangeBatch or InvalidInput: invalid-change', () => {
    const error = 'Route53.InvalidChangeBatchException';
    const reason = (cause: string, e = error) => `invalid-change: ${ended('FAILED')}: ${e}: ${cause}`;

    it('refuses the records Route 53 names, registry names counting as their record’s', () => {
      const cause =
        'RRSet with DNS name _r53dyn.api.dyn.example.test. is not permitted in zone dyn.example.test.';

      expect(verdictsOf(partsFailed({ records: ['web', 'api', 'www'], error, cause }), SUFFIX)).toEqual([
        { kind: 'refuse', scope: records('api'), reason: reason(cause) },
      ]);
    });

    it('writes each record alone next round when Route 53 names none of the part’s records', () => {
      const cause = 'Invalid request: the change batch is malformed';

      expect(verdictsOf(partsFailed({ records: ['web', 'api'], error, cause }), SUFFIX)).toEqual([
        { kind: 'isolate', scope: records('web', 'api') },
      ]);
    });

    it('refuses a part of one record outright', () => {
      const cause = 'Invalid request';
      const e = 'Route53.InvalidInputException';

      expect(verdictsOf(partsFailed({ records: ['web'], error: e, cause }), SUFFIX)).toEqual([
        { kind: 'refuse', scope: records('web'), reason: reason(cause, e) },
      ]);
    });
  });

  it.each([
    [
      'Route53.NoSuchHostedZoneException',
      'No hosted zone found with ID: Z1TESTZONE00000000001',
      'zone-missing',
    ],
    [
      'Route53.AccessDeniedException',
      'User is not authorized to perform route53:ChangeResourceRecordSets',
      'access-denied',
    ],
  ])(
    'PartsFailed with %s: refuse the part’s records, zone-missing or access-denied',
    (error, cause, code) => {
      expect(verdictsOf(partsFailed({ records: ['web', 'api'], error, cause }), SUFFIX)).toEqual([
        {
          kind: 'refuse',
          scope: records('web', 'api'),
          reason: `${code}: ${ended('FAILED')}: ${error}: ${cause}`,
        },
      ]);
    },
  );

  it('PartsFailed of several parts: one verdict per part, the written parts untouched', () => {
    const verdicts = verdictsOf(
      partsFailed(
        { records: ['a'], error: 'Route53.ThrottlingException', cause: 'Rate exceeded' },
        {
          records: ['c'],
          error: 'Route53.InvalidChangeBatchException',
          cause:
            "[Tried to create resource record set [name='c.dyn.example.test.', type='A'] but it already exists]",
        },
      ),
      SUFFIX,
    );

    expect(
      verdicts.map((v: Verdict) => [v.kind, [...('records' in v.scope ? v.scope.records : [])]]),
    ).toEqual([
      ['retry', ['a']],
      ['retry', ['c']],
    ]);
  });

  it('RecordNotAllowed: refuse the records it names (record-not-allowed), or the zone when it names none', () => {
    const named = '{"records":["web","_r53dyn-x"]}';
    const rule = 'an address change under a reserved first label';

    expect(verdictsOf(failed(WORKFLOW_ERRORS.recordNotAllowed, named), SUFFIX)).toEqual([
      {
        kind: 'refuse',
        scope: records('web', '_r53dyn-x'),
        reason: `record-not-allowed: the workflow refused it: ${named}`,
      },
    ]);
    expect(verdictsOf(failed(WORKFLOW_ERRORS.recordNotAllowed, rule), SUFFIX)).toEqual([
      { kind: 'refuse', scope: zone, reason: `record-not-allowed: the workflow refused it: ${rule}` },
    ]);
  });

  it.each([
    ['States.Runtime', 'An error occurred while executing the state', 'workflow-error'],
    [WORKFLOW_ERRORS.notInSync, 'change C1 was still PENDING after 900 seconds', 'workflow-error'],
    ['Ssm.AccessDeniedException', 'not authorized to perform ssm:GetParameter', 'access-denied'],
  ])('anything else (%s): refuse the zone, workflow-error unless access was denied', (error, cause, code) => {
    expect(verdictsOf(failed(error, cause), SUFFIX)).toEqual([
      { kind: 'refuse', scope: zone, reason: `${code}: ${ended('FAILED')}: ${error}: ${cause}` },
    ]);
  });
});

describe('namesIn', () => {
  it('finds the records below the zone Route 53 names, in either of its forms, once each', () => {
    const text =
      "[name='WEB.dyn.example.test.', type='A'] and [name='_r53dyn.web.dyn.example.test.', type='TXT']; " +
      'RRSet with DNS name a.b.dyn.example.test. is not permitted; DNS name other.example.org. too';

    expect(namesIn(text, SUFFIX)).toEqual(['web', 'a.b']);
  });

  it('finds nothing in a text that names no record', () => {
    expect(namesIn('Rate exceeded', SUFFIX)).toEqual([]);
  });
});
