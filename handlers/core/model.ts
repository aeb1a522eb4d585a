// The domain types shared by the pure core (no AWS SDK, no process.env, no clock).
// Route 53 shapes are declared here structurally, so the core never imports the SDK.

/** One allowlisted zone (docs/design.md §6), after validation and normalisation. */
export interface ZoneRule {
  hostedZoneId: string;
  /** lower case, no trailing dot; records must be strictly below it, on a label boundary */
  suffix: string;
  ttl: number;
  types: RecordType[];
  maxValuesPerRecord: number;
  /** 0: no expiry */
  leaseSeconds: number;
  allowPrivate: boolean;
}

export interface Allowlist {
  zones: ZoneRule[];
}

export type RecordType = 'A' | 'AAAA';

/** What every accepted message carries besides its meaning: who sent it, when, under which SQS id. */
export interface Envelope {
  messageId: string;
  /** SQS SentTimestamp, ms: the only clock that orders messages */
  sentAt: number;
  /** SQS SenderId of the original message, kept for dead letters and redrive (docs/design.md §3.2) */
  senderId?: string;
}

/** A registration message after validation (docs/design.md §3.1). `record` is lower case with a trailing dot. */
export interface Registration extends Envelope {
  kind: 'register' | 'deregister' | 'heartbeat';
  record: string;
  hostedZoneId: string;
  instanceId: string;
  ipv4?: string;
  ipv6?: string;
}

/** An EC2 state-change event meaning "this instance is gone from every record". */
export interface InstanceGone extends Envelope {
  kind: 'instance-gone';
  instanceId: string;
}

/** Drop expired leases and old tombstones everywhere. */
export interface Sweep extends Envelope {
  kind: 'sweep';
}

export type Message = Registration | InstanceGone | Sweep;

/** A message that cannot be applied: it goes to the dead-letter queue with `reason`. */
export interface Rejection {
  messageId: string;
  reason: string;
}

/** The Route 53 ResourceRecordSet fields r53dyn reads and writes. */
export interface RecordSet {
  Name: string;
  Type: string;
  TTL?: number;
  ResourceRecords?: { Value: string }[];
  /** read so that an alias or a routing-policy set is refused, never written */
  AliasTarget?: { DNSName: string };
  SetIdentifier?: string;
}

export interface Change {
  Action: 'CREATE' | 'DELETE';
  ResourceRecordSet: RecordSet;
}
