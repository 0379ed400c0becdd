export type ConfigErrorCode =
  'InvalidJson' | 'InvalidConfig' | 'Refused' | 'WriteFailed' | 'LockFailed';

/**
 * Every failure of the sink. Invariant: when a ConfigError is thrown by commit(), the target file
 * holds exactly the bytes it held before the call (nothing partial is ever renamed over it).
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code: ConfigErrorCode;
  /** The config file the error is about. */
  readonly path: string;
  /** One line per problem (validation messages, the underlying errno message...). */
  readonly details: string[];

  constructor(
    code: ConfigErrorCode,
    path: string,
    message: string,
    details: string[] = [],
    options?: { cause?: unknown },
  ) {
    super(
      `${code}: ${message} (${path})${details.length ? `: ${details.join('; ')}` : ''}`,
      options,
    );
    this.code = code;
    this.path = path;
    this.details = details;
  }
}
