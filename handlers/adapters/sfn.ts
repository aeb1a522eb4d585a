// The Step Functions calls the planner makes: start a round's execution, and look up the previous round's.
import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  type SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import type { PreviousExecution } from '../core/outcome';

const executionArn = (stateMachineArn: string, name: string) =>
  `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;

/**
 * Starts one round's execution. Its name carries the zone queue's receive count, so it is new on every receive;
 * meeting the name again means this very receive already started it (a retried invocation), which is fine.
 */
export async function startExecution(
  client: SFNClient,
  stateMachineArn: string,
  name: string,
  input: unknown,
): Promise<{ executionArn: string; alreadyStarted: boolean }> {
  const arn = executionArn(stateMachineArn, name);
  try {
    await client.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
    return { executionArn: arn, alreadyStarted: false };
  } catch (error) {
    if (error instanceof ExecutionAlreadyExists) return { executionArn: arn, alreadyStarted: true };
    throw error;
  }
}

/** How the execution of that name ended (or that it is still running); undefined when there is none. */
export async function describeExecution(
  client: SFNClient,
  stateMachineArn: string,
  name: string,
): Promise<PreviousExecution | undefined> {
  try {
    const out = await client.send(
      new DescribeExecutionCommand({ executionArn: executionArn(stateMachineArn, name) }),
    );
    const previous: PreviousExecution = {
      name,
      status: (out.status ?? 'FAILED') as PreviousExecution['status'],
    };
    if (out.error !== undefined) previous.error = out.error;
    if (out.cause !== undefined) previous.cause = out.cause;
    return previous;
  } catch (error) {
    if (error instanceof ExecutionDoesNotExist) return undefined;
    throw error;
  }
}
