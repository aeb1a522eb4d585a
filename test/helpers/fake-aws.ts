// In-memory stand-ins for the three AWS clients the batcher calls, each answering only the one command the
// batcher sends, with the failure modes the batcher must survive injectable per call. Anything else is an
// error, so a batcher that starts making a new call fails these tests until the fake learns it.
import { Logger } from '@aws-lambda-powertools/logger';
import {
  ListResourceRecordSetsCommand,
  type ListResourceRecordSetsCommandInput,
  type ListResourceRecordSetsCommandOutput,
  NoSuchHostedZone,
  type ResourceRecordSet,
  type Route53Client,
  type RRType,
} from '@aws-sdk/client-route-53';
import {
  ExecutionAlreadyExists,
  type SFNClient,
  StartExecutionCommand,
  type StartExecutionCommandInput,
} from '@aws-sdk/client-sfn';
import {
  type BatchResultErrorEntry,
  SendMessageBatchCommand,
  type SendMessageBatchCommandInput,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { BatcherDeps } from '../../handlers/batcher';
import type { RecordSet } from '../../handlers/core/model';
import type { BatcherSettings } from '../../handlers/settings';
import type { Route53Fake } from './route53-fake';

/** An error as the SDK raises it for a service fault: matched by `name`, like the SDK's own. */
export function serviceError(name: string, message = `${name} (injected)`): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

const metadata = { httpStatusCode: 200, attempts: 1, totalRetryDelay: 0 };

// ---------------------------------------------------------------------------------------------------------
// Route 53

/**
 * The key Route 53 lists names by: labels reversed, e.g. `test.example.dyn.web.` for `web.dyn.example.test.`
 * The trailing dot is part of what is compared, as Route 53 documents, so `-` (before `.`) sorts as it does.
 */
export function route53NameKey(name: string): string {
  const bare = (name.endsWith('.') ? name.slice(0, -1) : name).toLowerCase();
  return `${bare.split('.').reverse().join('.')}.`;
}

function compareRRsets(a: { name: string; type: string }, b: { name: string; type: string }): number {
  const ka = route53NameKey(a.name);
  const kb = route53NameKey(b.name);
  if (ka !== kb) return ka < kb ? -1 : 1;
  return a.type < b.type ? -1 : a.type > b.type ? 1 : 0;
}

export type ZoneContents = Route53Fake | RecordSet[];

/**
 * ListResourceRecordSets over one or more zones. A zone is a Route53Fake (read live, so writes made through
 * it are seen by the next read) or a fixed list of rrsets. Route 53's default page is 300 items and its
 * maximum 300 for this call; `fail` may refuse a call (e.g. one zone's reads) before it is answered.
 */
export class FakeRoute53 {
  readonly calls: ListResourceRecordSetsCommandInput[] = [];
  fail: (input: ListResourceRecordSetsCommandInput) => Error | undefined = () => undefined;

  constructor(private readonly zones: Record<string, ZoneContents>) {}

  async send(command: unknown): Promise<ListResourceRecordSetsCommandOutput> {
    if (!(command instanceof ListResourceRecordSetsCommand)) {
      throw new Error(`FakeRoute53 does not answer ${describe(command)}`);
    }
    const input = command.input;
    this.calls.push(input);
    const injected = this.fail(input);
    if (injected) throw injected;

    const zoneId = (input.HostedZoneId ?? '').replace(/^\/hostedzone\//, '');
    const zone = this.zones[zoneId];
    if (zone === undefined) {
      throw new NoSuchHostedZone({ message: `No hosted zone found with ID: ${zoneId}`, $metadata: metadata });
    }
    if (input.StartRecordType !== undefined && input.StartRecordName === undefined) {
      throw serviceError('InvalidInput', 'StartRecordType requires StartRecordName');
    }
    const pageSize = Math.min(input.MaxItems ?? 300, 300);
    const listed = (Array.isArray(zone) ? zone : zone.list())
      .map((rrset) => ({ name: rrset.Name.toLowerCase(), type: rrset.Type, rrset }))
      .sort(compareRRsets);
    const from =
      input.StartRecordName === undefined
        ? 0
        : listed.findIndex(
            (entry) =>
              compareRRsets(entry, {
                name: input.StartRecordName ?? '',
                type: input.StartRecordType ?? '',
              }) >= 0,
          );
    const rest = from === -1 ? [] : listed.slice(from);
    const page = rest.slice(0, pageSize);
    const next = rest[pageSize];
    return {
      $metadata: metadata,
      ResourceRecordSets: page.map(({ rrset }) => asListed(rrset)),
      IsTruncated: next !== undefined,
      MaxItems: pageSize,
      ...(next === undefined ? {} : { NextRecordName: next.name, NextRecordType: next.type as RRType }),
    };
  }
}

function asListed(rrset: RecordSet): ResourceRecordSet {
  const listed: ResourceRecordSet = { Name: rrset.Name.toLowerCase(), Type: rrset.Type as RRType };
  if (rrset.TTL !== undefined) listed.TTL = rrset.TTL;
  if (rrset.ResourceRecords !== undefined) {
    listed.ResourceRecords = rrset.ResourceRecords.map(({ Value }) => ({ Value }));
  }
  return listed;
}

// ---------------------------------------------------------------------------------------------------------
// Step Functions

/**
 * StartExecution on one state machine. A name used before is refused with ExecutionAlreadyExists, as Step
 * Functions does once that execution has closed or when the input differs; `fail` injects any other error.
 */
export class FakeStepFunctions {
  readonly calls: StartExecutionCommandInput[] = [];
  /** every execution actually started, by name, with its input parsed */
  readonly executions = new Map<string, unknown>();
  fail: (input: StartExecutionCommandInput) => Error | undefined = () => undefined;

  async send(command: unknown) {
    if (!(command instanceof StartExecutionCommand)) {
      throw new Error(`FakeStepFunctions does not answer ${describe(command)}`);
    }
    const input = command.input;
    this.calls.push(input);
    const injected = this.fail(input);
    if (injected) throw injected;
    const name = input.name ?? '';
    if (this.executions.has(name)) {
      throw new ExecutionAlreadyExists({
        message: `Execution Already Exists: '${name}'`,
        $metadata: metadata,
      });
    }
    this.executions.set(name, JSON.parse(input.input ?? '{}'));
    return {
      $metadata: metadata,
      executionArn: `${(input.stateMachineArn ?? '').replace(':stateMachine:', ':execution:')}:${name}`,
      startDate: new Date(0),
    };
  }
}

// ---------------------------------------------------------------------------------------------------------
// SQS

export interface SentMessage {
  queueUrl: string;
  entry: SendMessageBatchRequestEntry;
}

/**
 * SendMessageBatch with the request checks SQS makes (1 to 10 entries, distinct well-formed ids). `fail`
 * refuses a whole call; `failEntry` refuses one entry, which SQS reports in `Failed` while the others are sent.
 */
export class FakeSqs {
  readonly calls: SendMessageBatchCommandInput[] = [];
  /** the entries SQS accepted, in order */
  readonly sent: SentMessage[] = [];
  fail: (input: SendMessageBatchCommandInput) => Error | undefined = () => undefined;
  failEntry: (entry: SendMessageBatchRequestEntry) => boolean = () => false;

  async send(command: unknown) {
    if (!(command instanceof SendMessageBatchCommand)) {
      throw new Error(`FakeSqs does not answer ${describe(command)}`);
    }
    const input = command.input;
    this.calls.push(input);
    const entries = input.Entries ?? [];
    if (entries.length === 0) throw serviceError('EmptyBatchRequest');
    if (entries.length > 10) throw serviceError('TooManyEntriesInBatchRequest');
    const ids = entries.map((entry) => entry.Id ?? '');
    if (new Set(ids).size !== ids.length) throw serviceError('BatchEntryIdsNotDistinct');
    if (ids.some((id) => !/^[A-Za-z0-9_-]{1,80}$/.test(id))) throw serviceError('InvalidBatchEntryId');
    const injected = this.fail(input);
    if (injected) throw injected;

    const failed: BatchResultErrorEntry[] = [];
    const successful = [];
    for (const entry of entries) {
      if (this.failEntry(entry)) {
        failed.push({ Id: entry.Id, SenderFault: false, Code: 'InternalError', Message: 'injected' });
      } else {
        this.sent.push({ queueUrl: input.QueueUrl ?? '', entry });
        successful.push({ Id: entry.Id, MessageId: `sqs-${this.sent.length}`, MD5OfMessageBody: '' });
      }
    }
    return { $metadata: metadata, Successful: successful, Failed: failed };
  }
}

function describe(command: unknown): string {
  return command?.constructor?.name ?? typeof command;
}

// ---------------------------------------------------------------------------------------------------------
// The batcher's dependencies

export interface FakeAws {
  route53: FakeRoute53;
  sfn: FakeStepFunctions;
  sqs: FakeSqs;
}

/**
 * processBatch's deps over the fakes. The one place the fakes stand in for the SDK client types: they answer
 * only `send`, which is all the adapters use.
 */
export function fakeDeps(fakes: FakeAws, settings: BatcherSettings, now: number): BatcherDeps {
  return {
    settings,
    route53: fakes.route53 as unknown as Route53Client,
    sfn: fakes.sfn as unknown as SFNClient,
    sqs: fakes.sqs as unknown as SQSClient,
    logger: new Logger({ serviceName: 'r53dyn-test', logLevel: 'SILENT' }),
    now: () => now,
  };
}
