// What the fake AWS clients share: the response metadata the SDK attaches, and errors shaped as the SDK raises
// them for a service fault (matched by `name`, as the handlers do).

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
