// An in-memory Step Functions for the planner: StartExecution (a name used before is refused with
// ExecutionAlreadyExists, an input over 256 KiB with InvalidExecutionInput) and DescribeExecution (ExecutionDoesNotExist for an unknown name). Executions stay
// RUNNING until a test or the workflow stand-in ends them. Any other command is an error.
import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  InvalidExecutionInput,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { STATE_DATA_LIMIT_BYTES } from '../../handlers/core/contract';
import type { PreviousExecution } from '../../handlers/core/outcome';
import type { WorkflowInput } from '../../handlers/core/workflow-input';
import { sdkMetadata as $metadata, FakeClient } from './fake-client';

export interface Execution {
  name: string;
  /** the input as the planner sent it, parsed */
  input: WorkflowInput;
  /** its size as sent, UTF-8 bytes */
  inputBytes: number;
  status: PreviousExecution['status'];
  error?: string;
  cause?: string;
}

export class FakeStepFunctions extends FakeClient {
  /** executions by name, in the order they were started */
  readonly executions = new Map<string, Execution>();

  protected answer(command: unknown): unknown {
    if (command instanceof StartExecutionCommand) {
      return this.start(command.input.name ?? '', command.input.input ?? '{}');
    }
    if (command instanceof DescribeExecutionCommand) return this.describe(command.input.executionArn ?? '');
    return undefined;
  }

  /** Executions still running, oldest first. */
  running(): Execution[] {
    return [...this.executions.values()].filter((e) => e.status === 'RUNNING');
  }

  /** Ends an execution as Step Functions would report it. */
  end(name: string, status: Execution['status'], failure?: { error: string; cause: string }): void {
    const execution = this.executions.get(name);
    if (!execution) throw new Error(`no execution ${name}`);
    execution.status = status;
    if (failure) Object.assign(execution, failure);
  }

  /** An execution as a previous round left it (for tests that start from one). */
  record(name: string, status: Execution['status'], failure?: { error: string; cause: string }): void {
    this.executions.set(name, { name, input: {} as WorkflowInput, inputBytes: 0, status, ...failure });
  }

  private start(name: string, text: string) {
    if (this.executions.has(name)) {
      throw new ExecutionAlreadyExists({ message: `Execution Already Exists: '${name}'`, $metadata });
    }
    const inputBytes = Buffer.byteLength(text, 'utf8');
    if (inputBytes > STATE_DATA_LIMIT_BYTES) {
      throw new InvalidExecutionInput({
        message: `input of ${inputBytes} bytes is over the limit`,
        $metadata,
      });
    }
    const input = JSON.parse(text) as WorkflowInput;
    this.executions.set(name, { name, input, inputBytes, status: 'RUNNING' });
    return { $metadata, executionArn: `arn:aws:states:us-east-1:123456789012:execution:r53dyn:${name}` };
  }

  private describe(arn: string) {
    const name = arn.split(':').pop() ?? '';
    const execution = this.executions.get(name);
    if (!execution) {
      throw new ExecutionDoesNotExist({ message: `Execution Does Not Exist: '${arn}'`, $metadata });
    }
    const { status, error, cause } = execution;
    return { $metadata, executionArn: arn, name, status, error, cause };
  }
}
