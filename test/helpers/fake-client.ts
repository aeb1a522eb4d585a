// What the fake AWS clients share: the response metadata the SDK attaches, errors shaped as the SDK raises them for
// a service fault (matched by `name`, as the handlers do), and the request log with failure injection.

export const sdkMetadata = { httpStatusCode: 200, attempts: 1, totalRetryDelay: 0 };

/** An error as the SDK raises it for a service fault: matched by `name`, like the SDK's own. */
export function serviceError(name: string, message = `${name} (injected)`): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

/** `SendMessageBatchCommand` -> `SendMessageBatch`. */
export function commandName(command: unknown): string {
  const name = (command as { constructor?: { name?: string } })?.constructor?.name ?? typeof command;
  return name.replace(/Command$/, '');
}

/**
 * A stand-in for an SDK client: `send` logs every request by command name, lets a test refuse it before it is
 * answered, then hands it to `answer`, which throws for a command the fake does not know.
 */
export abstract class FakeClient {
  /** every request, in order, by command name */
  readonly requests: { command: string; input: unknown }[] = [];
  /** refuses a request before it is answered (the SDK client raises the error) */
  failRequest: (command: string, input: unknown) => Error | undefined = () => undefined;

  async send(command: unknown): Promise<unknown> {
    const name = commandName(command);
    const input = (command as { input: unknown }).input;
    this.requests.push({ command: name, input });
    const injected = this.failRequest(name, input);
    if (injected) throw injected;
    const answer = this.answer(command);
    if (answer === undefined) throw new Error(`${this.constructor.name} does not answer ${name}`);
    return answer;
  }

  /** The requests of one command, in order. */
  inputsOf<Input>(command: string): Input[] {
    return this.requests.filter((r) => r.command === command).map((r) => r.input as Input);
  }

  /** The response to a command, or undefined for a command this fake does not answer. */
  protected abstract answer(command: unknown): unknown;
}
