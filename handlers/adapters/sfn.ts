import { ExecutionAlreadyExists, type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';

/**
 * Starts one workflow execution. Its name is derived from the plan and the message ids, so a redelivered
 * batch asks for the same name: Step Functions then refuses a second execution, which is what we want.
 */
export async function startExecution(
  client: SFNClient,
  stateMachineArn: string,
  name: string,
  input: unknown,
): Promise<{ executionArn: string; alreadyStarted: boolean }> {
  const executionArn = `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
  try {
    await client.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
    return { executionArn, alreadyStarted: false };
  } catch (error) {
    if (error instanceof ExecutionAlreadyExists) return { executionArn, alreadyStarted: true };
    throw error;
  }
}
