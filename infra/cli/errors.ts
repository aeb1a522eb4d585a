// The CLI's exit codes and its one-line errors: an AWS error is turned into a sentence an operator can act on,
// never a stack trace.

/** Documented in `r53dyn --help`. */
export const EXIT = {
  ok: 0,
  /** the command ran and failed, or found something wrong (a missing stack, refused credentials, ...) */
  failed: 1,
  /** the command line or a file it names is wrong */
  usage: 2,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error whose message is the whole story, printed as `r53dyn: <message>`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = EXIT.failed,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export const usageError = (message: string) => new CliError(message, EXIT.usage);

const CREDENTIAL_REFUSALS = [
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'SignatureDoesNotMatch',
  'InvalidSignatureException',
  'IncompleteSignature',
  'AuthFailure',
  'InvalidAccessKeyId',
];
const EXPIRED = ['ExpiredToken', 'ExpiredTokenException', 'RequestExpired'];

/** Any error as one line; AWS's credential and permission errors say what to do about them. */
export function explain(error: unknown, profile: string | undefined): CliError {
  if (error instanceof CliError) return error;
  const name = error instanceof Error ? error.name : '';
  const message = firstLine(error instanceof Error ? error.message : String(error));
  const which = profile === undefined ? 'the default credentials' : `profile ${profile}`;
  if (
    name === 'CredentialsProviderError' ||
    /Could not load credentials|resolve credentials/i.test(message)
  ) {
    return new CliError(`no AWS credentials (${which}): ${message}; pass --profile or set AWS_PROFILE`);
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && ['ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'EAI_AGAIN'].includes(code)) {
    return new CliError(`cannot reach AWS: ${message} (check --endpoint-url and --region)`);
  }
  if (EXPIRED.includes(name))
    return new CliError(`the AWS credentials of ${which} have expired: log in again`);
  if (CREDENTIAL_REFUSALS.includes(name)) {
    return new CliError(`AWS refused the credentials of ${which} (${name}): check --profile`);
  }
  if (/AccessDenied|UnauthorizedOperation|AuthorizationError/.test(name)) {
    return new CliError(`access denied: ${message}`);
  }
  if (name === 'Error' || name === '' || name === 'TypeError') return new CliError(message);
  return new CliError(`${name}: ${message}`);
}

function firstLine(text: string): string {
  return (text.split('\n')[0] ?? '').trim();
}
