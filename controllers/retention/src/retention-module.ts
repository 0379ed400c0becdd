import { ContainerActions, DockerClient, ImageLabelTrust } from '@dockop/docker';
import { EventRecorder, Logger, Redactor } from '@dockop/runtime';
import { ContainerModule, inject, injectable, optional } from 'inversify';
import { resolveResticHost } from './restic-host.js';
import { createResticRunner, type ResticRunnerConfig } from './restic-runner-factory.js';
import { runForget, type ForgetOptions, type ForgetReport } from './run-forget.js';
import { ImageWorkloadLabelTrust } from './workload-label-trust.js';

export const RetentionOptions = Symbol.for('backrest-sidecar.RetentionOptions');

export interface RetentionOptions extends Omit<ForgetOptions, 'signal' | 'only' | 'host'> {
  restic?: ResticRunnerConfig;
  /** restic `--host` to forget. Default: `resolveResticHost` (env, then the Docker engine's name). */
  host?: string;
  /** Accept a `backrest.keep` the image sets (`--trust-image-labels`). Default false. */
  trustImageLabels?: boolean;
}

/** Runs the per-workload forget loop with the container's Docker actions, logger and recorder. */
export const RetentionService = Symbol.for('backrest-sidecar.RetentionService');

export interface RetentionService {
  /** `overrides` win over the bound options for this run (backup-once passes `only`, `signal`). */
  run(overrides?: Partial<ForgetOptions>): Promise<ForgetReport>;
}

@injectable()
export class DefaultRetentionService implements RetentionService {
  readonly #actions: ContainerActions;
  readonly #client: DockerClient;
  readonly #options: RetentionOptions;
  readonly #logger: Logger | undefined;
  readonly #recorder: EventRecorder | undefined;
  readonly #trust: ImageWorkloadLabelTrust;
  readonly #redactor: Redactor | undefined;

  constructor(
    @inject(ContainerActions) actions: ContainerActions,
    @inject(DockerClient) client: DockerClient,
    @inject(RetentionOptions) options: RetentionOptions,
    @inject(Logger) @optional() logger?: Logger,
    @inject(EventRecorder) @optional() recorder?: EventRecorder,
    @inject(Redactor) @optional() redactor?: Redactor,
  ) {
    this.#redactor = redactor;
    this.#actions = actions;
    this.#client = client;
    this.#options = options;
    this.#logger = logger;
    this.#recorder = recorder;
    this.#trust = new ImageWorkloadLabelTrust(
      new ImageLabelTrust(client, logger),
      options.trustImageLabels ?? false,
    );
  }

  async run(overrides: Partial<ForgetOptions> = {}): Promise<ForgetReport> {
    const { restic, trustImageLabels: _trust, host, ...forget } = this.#options;
    // The logger's redactor learns the env file's secrets: they are masked in every log line.
    const runner = await createResticRunner(
      { ...restic, ...(this.#redactor ? { redactor: this.#redactor } : {}) },
      this.#actions,
    );
    return runForget(
      {
        ...forget,
        host: overrides.host ?? (await resolveResticHost(this.#client, host)),
        ...overrides,
      },
      {
        containers: this.#actions,
        restic: runner,
        trust: this.#trust,
        ...(this.#logger ? { logger: this.#logger } : {}),
        ...(this.#recorder ? { recorder: this.#recorder } : {}),
      },
    );
  }
}

/** Binds RetentionService (singleton) with `options`; needs ContainerActions and DockerClient bound elsewhere. */
export function retentionModule(options: RetentionOptions = {}): ContainerModule {
  return new ContainerModule((o) => {
    o.bind<RetentionOptions>(RetentionOptions).toConstantValue(options);
    o.bind<RetentionService>(RetentionService).to(DefaultRetentionService).inSingletonScope();
  });
}
