// Executions started directly, with input the batcher would never produce: the workflow must refuse each one
// from its own allowlist before any Route 53 call, and leave the zone as it was.
import {
  addressChange,
  createWorkflowFixture,
  recordSets,
  requeueEntry,
  runExecution,
  statesEntered,
  type WorkflowFixture,
  type ZoneChangeInput,
} from '../helpers/workflow';

jest.setTimeout(60_000);

let fixture: WorkflowFixture;

beforeAll(async () => {
  fixture = await createWorkflowFixture('r53dyn-test-workflow-hostile', {
    maxRequeueAttempts: 3,
    insyncFirstWaitSeconds: 1,
    insyncMaxWaitSeconds: 2,
    insyncTimeoutSeconds: 5,
  });
});

afterAll(() => fixture.cleanUp());

type Rrset = Record<string, unknown>;

/** One change as the batcher shapes it, with any field overridden. */
const change = (relativeName: unknown, rrset: Rrset, action: unknown = 'CREATE') => ({
  relativeName,
  change: {
    Action: action,
    ResourceRecordSet: { TTL: 60, ResourceRecords: [{ Value: '203.0.113.66' }], ...rrset },
  },
});

const input = (changes: unknown[], hostedZoneId: unknown = fixture.zoneId): ZoneChangeInput => ({
  hostedZoneId,
  changes,
  summary: { records: [], messages: 1, part: '1/1' },
  requeue: [[requeueEntry(0, { v: 1, action: 'register' }, 0, 1_700_000_000_000)]],
  attempt: 0,
});

interface HostileCase {
  title: string;
  input: () => ZoneChangeInput;
  error: 'RecordNotAllowed' | 'ZoneNotAllowed';
  /** What the cause must name. */
  names: () => string;
}

const s = () => fixture.suffix;

const recordCases: HostileCase[] = [
  {
    title: 'a name in another zone',
    input: () => input([change('web', { Name: `web.${fixture.otherZoneName}.`, Type: 'A' })]),
    names: () => `web.${fixture.otherZoneName}.`,
  },
  {
    title: 'a name in the zone but outside the suffix',
    input: () => input([change('web', { Name: `web.${fixture.zoneName}.`, Type: 'A' })]),
    names: () => `web.${fixture.zoneName}.`,
  },
  {
    title: 'evildyn.<zone> for suffix dyn.<zone> (no label boundary)',
    input: () => input([change('evil', { Name: `evil${s()}.`, Type: 'A' })]),
    names: () => `evil${s()}.`,
  },
  {
    title: 'evildyn.<zone> with an empty relative name',
    input: () => input([change('', { Name: `evil${s()}.`, Type: 'A' })]),
    names: () => `evil${s()}.`,
  },
  {
    title: 'the suffix itself',
    input: () => input([change('', { Name: `${s()}.`, Type: 'A' })]),
    names: () => `${s()}.`,
  },
  {
    title: 'a wildcard',
    input: () => input([change('*', { Name: `*.${s()}.`, Type: 'A' })]),
    names: () => `*.${s()}.`,
  },
  {
    title: 'a wildcard label under a real one',
    input: () => input([change('*.web', { Name: `*.web.${s()}.`, Type: 'A' })]),
    names: () => `*.web.${s()}.`,
  },
  {
    title: 'a \\052 escape (the octal form of *)',
    input: () => input([change('\\052', { Name: `\\052.${s()}.`, Type: 'A' })]),
    names: () => `\\052.${s()}.`,
  },
  {
    title: 'an escape in the name only',
    input: () => input([change('web', { Name: `\\119eb.${s()}.`, Type: 'A' })]),
    names: () => `\\119eb.${s()}.`,
  },
  {
    title: 'upper case',
    input: () => input([change('Web', { Name: `Web.${s()}.`, Type: 'A' })]),
    names: () => `Web.${s()}.`,
  },
  {
    title: 'upper case in the name only',
    input: () => input([change('web', { Name: `WEB.${s()}.`, Type: 'A' })]),
    names: () => `WEB.${s()}.`,
  },
  {
    title: 'an empty label',
    input: () => input([change('a..b', { Name: `a..b.${s()}.`, Type: 'A' })]),
    names: () => `a..b.${s()}.`,
  },
  {
    title: 'a leading dot',
    input: () => input([change('.web', { Name: `.web.${s()}.`, Type: 'A' })]),
    names: () => `.web.${s()}.`,
  },
  {
    title: 'a CNAME',
    input: () =>
      input([
        change('web', { Name: `web.${s()}.`, Type: 'CNAME', ResourceRecords: [{ Value: 'evil.example.' }] }),
      ]),
    names: () => `web.${s()}.`,
  },
  {
    title: 'an NS delegation',
    input: () =>
      input([
        change('sub', { Name: `sub.${s()}.`, Type: 'NS', ResourceRecords: [{ Value: 'ns.evil.example.' }] }),
      ]),
    names: () => `sub.${s()}.`,
  },
  {
    title: 'a TXT that is not the registry name',
    input: () =>
      input([change('web', { Name: `web.${s()}.`, Type: 'TXT', ResourceRecords: [{ Value: '"x"' }] })]),
    names: () => `web.${s()}.`,
  },
  {
    title: 'a registry TXT for another name',
    input: () =>
      input([
        change('web', { Name: `_r53dyn.api.${s()}.`, Type: 'TXT', ResourceRecords: [{ Value: '"x"' }] }),
      ]),
    names: () => `_r53dyn.api.${s()}.`,
  },
  {
    title: 'an UPSERT',
    input: () => input([change('web', { Name: `web.${s()}.`, Type: 'A' }, 'UPSERT')]),
    names: () => `web.${s()}.`,
  },
  {
    title: 'an AliasTarget beside valid fields',
    input: () =>
      input([
        change('web', {
          Name: `web.${s()}.`,
          Type: 'A',
          AliasTarget: {
            HostedZoneId: 'Z2FDTNDATAQYW2',
            DNSName: 'evil.cloudfront.net.',
            EvaluateTargetHealth: false,
          },
        }),
      ]),
    names: () => `web.${s()}.`,
  },
  {
    title: 'a non-string name',
    input: () => input([change('web', { Name: ['web', s()], Type: 'A' })]),
    names: () => '"relativeName":"web"',
  },
  {
    title: 'a change without a relative name, after a valid one',
    input: () =>
      input([
        addressChange(fixture.suffix, 'CREATE', 'ok', ['203.0.113.1']),
        { change: { Action: 'CREATE', ResourceRecordSet: { Name: `x.${s()}.`, Type: 'A', TTL: 60 } } },
      ]),
    names: () => `x.${s()}.`,
  },
].map((entry) => ({ ...entry, error: 'RecordNotAllowed' as const }));

const zoneCases: HostileCase[] = [
  {
    title: 'another hosted zone id (no allowlist parameter)',
    input: () =>
      input([change('web', { Name: `web.${fixture.otherZoneName}.`, Type: 'A' })], fixture.otherZoneId),
    names: () => fixture.otherZoneId,
  },
  {
    title: 'a hosted zone id with a slash',
    input: () => input([change('web', { Name: `web.${s()}.`, Type: 'A' })], `${fixture.zoneId}/x`),
    names: () => `${fixture.zoneId}/x`,
  },
  {
    title: 'a hosted zone id climbing out of the prefix with ..',
    input: () => input([change('web', { Name: `web.${s()}.`, Type: 'A' })], `../zones/${fixture.zoneId}`),
    names: () => `../zones/${fixture.zoneId}`,
  },
  {
    title: 'the /hostedzone/ form of the id',
    input: () => input([change('web', { Name: `web.${s()}.`, Type: 'A' })], `/hostedzone/${fixture.zoneId}`),
    names: () => `/hostedzone/${fixture.zoneId}`,
  },
  {
    title: 'a hosted zone id that is not a string',
    input: () => input([change('web', { Name: `web.${s()}.`, Type: 'A' })], [fixture.zoneId]),
    names: () => `["${fixture.zoneId}"]`,
  },
].map((entry) => ({ ...entry, error: 'ZoneNotAllowed' as const }));

describe('hostile executions', () => {
  it.each([...recordCases, ...zoneCases].map((entry) => [entry.title, entry] as const))(
    'refuse %s before any Route 53 call',
    async (_, hostile) => {
      // Arrange
      const before = await recordSets(fixture.zoneId);
      const otherBefore = await recordSets(fixture.otherZoneId);

      // Act
      const execution = await runExecution(fixture.arn, hostile.input());

      // Assert
      expect(execution.status).toBe('FAILED');
      expect(execution.error).toBe(hostile.error);
      expect(execution.cause).toContain(hostile.names());
      const entered = statesEntered(execution.history);
      expect(entered).not.toContain('ApplyChange');
      // LocalStack may log a sibling Map iteration finishing after the execution failed: find events by type
      const failState = execution.history.filter((event) => event.type === 'FailStateEntered').at(-1);
      expect(failState?.stateEnteredEventDetails?.name).toBe(hostile.error);
      expect(execution.history.filter((event) => event.type === 'ExecutionFailed')).toHaveLength(1);
      expect(
        execution.history.filter(
          (event) => event.taskScheduledEventDetails?.resourceType === 'aws-sdk:route53',
        ),
      ).toEqual([]);
      expect(await recordSets(fixture.zoneId)).toEqual(before);
      expect(await recordSets(fixture.otherZoneId)).toEqual(otherBefore);
    },
  );

  it('lets the same change through once it is well formed, so the refusals above are the checks at work', async () => {
    // Act
    const execution = await runExecution(
      fixture.arn,
      input([addressChange(fixture.suffix, 'CREATE', 'web', ['203.0.113.66'])]),
    );

    // Assert
    expect(execution.status).toBe('SUCCEEDED');
    expect((await recordSets(fixture.zoneId)).filter((set) => set.Name === `web.${s()}.`)).toEqual([
      { Name: `web.${s()}.`, Type: 'A', TTL: 60, ResourceRecords: [{ Value: '203.0.113.66' }] },
    ]);
  });
});
