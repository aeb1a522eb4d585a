// The apply-zone-change workflow's semantics, for unit tests that drive the real handlers without Step Functions.
// This is what the workflow does with an execution's input (docs/design.md §8.3, §8.4), not how its JSONPath does
// it; test/e2e runs the real definition on LocalStack. Left out: the SSM entry check (the stand-in trusts
// input.zone), the per-record checks (RecordNotAllowed) and the INSYNC poll (nothing to redo).
//
//   1. every part, in order, as one ChangeBatch; a part Route 53 refuses does not stop the others;
//   2. no part refused: the round's deltas are deleted (release.complete) or made visible at once (not complete:
//      the next round writes the rest), and the execution SUCCEEDS;
//   3. some part refused: the deltas are released after the round's jittered delay (release.later), and the
//      execution FAILS with PartsFailed, its cause the JSON list of {records, error, cause} per refused part.
import { type Change, ChangeResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import { ChangeMessageVisibilityBatchCommand, DeleteMessageBatchCommand } from '@aws-sdk/client-sqs';
import { WORKFLOW_ERRORS } from '../../handlers/core/outcome';
import type { FakeRoute53 } from './fake-route53';
import type { FakeSqs } from './fake-sqs';
import type { Execution, FakeStepFunctions } from './fake-step-functions';

export interface WorkflowWorld {
  route53: FakeRoute53;
  sqs: FakeSqs;
  sfn: FakeStepFunctions;
  zoneQueueUrl: string;
}

export interface PartFailureReport {
  records: string[];
  error: string;
  cause: string;
}

/** Step Functions names an aws-sdk integration's error `<Service>.<Name>Exception`. */
function stepFunctionsError(error: unknown): { error: string; cause: string } {
  const name = error instanceof Error ? error.name : 'Unknown';
  const message = error instanceof Error ? error.message : String(error);
  const exception = name.endsWith('Exception') ? name : `${name}Exception`;
  return { error: `Route53.${exception}`, cause: `${message} (Service: Route53, Status Code: 400)` };
}

/** Runs one execution to its end: applies its parts, releases its deltas, and ends it in the Step Functions fake. */
export async function runExecution(world: WorkflowWorld, execution: Execution): Promise<PartFailureReport[]> {
  const { input } = execution;
  const failures: PartFailureReport[] = [];
  for (const part of input.parts) {
    // the slots hold the planner's structural Change type; the SDK's names the rrset types it knows
    const Changes = part.records.flatMap((record) => record.slots.flat()) as Change[];
    try {
      await world.route53.send(
        new ChangeResourceRecordSetsCommand({ HostedZoneId: input.hostedZoneId, ChangeBatch: { Changes } }),
      );
    } catch (error) {
      failures.push({ records: part.records.map((r) => r.name), ...stepFunctionsError(error) });
    }
  }
  const release = input.release;
  if (failures.length > 0) {
    await world.sqs.send(
      new ChangeMessageVisibilityBatchCommand({ QueueUrl: world.zoneQueueUrl, Entries: release.later }),
    );
    world.sfn.end(execution.name, 'FAILED', {
      error: WORKFLOW_ERRORS.partsFailed,
      cause: JSON.stringify(failures),
    });
    return failures;
  }
  await world.sqs.send(
    new DeleteMessageBatchCommand({ QueueUrl: world.zoneQueueUrl, Entries: release.delete }),
  );
  world.sfn.end(execution.name, 'SUCCEEDED');
  return failures;
}
