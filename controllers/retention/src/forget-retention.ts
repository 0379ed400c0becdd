import {
  ImageWorkloadLabelTrust,
  type BackupRetention,
  type BackupRetentionRequest,
  type ForgetReport,
} from '@backrest-sidecar/api';
import { createResticRunner } from '@backrest-sidecar/restic';
import { ContainerActions, DockerClient, ImageLabelTrust } from '@dockop/docker';
import { EventRecorder, Logger } from '@dockop/runtime';
import { inject, injectable, optional } from 'inversify';
import { runForget } from './run-forget.js';

/**
 * BackupRetention over the per-workload forget loop: what backup-once runs after a successful
 * backup, with the backup's restic settings and host. Never throws: a failure to start (bad env
 * file, Docker unreachable) is the report's `fatal`, redacted by the request's redactor.
 */
@injectable()
export class ForgetRetention implements BackupRetention {
  readonly #actions: ContainerActions;
  readonly #client: DockerClient;
  readonly #logger: Logger | undefined;
  readonly #recorder: EventRecorder | undefined;

  constructor(
    @inject(ContainerActions) actions: ContainerActions,
    @inject(DockerClient) client: DockerClient,
    @inject(Logger) @optional() logger?: Logger,
    @inject(EventRecorder) @optional() recorder?: EventRecorder,
  ) {
    this.#actions = actions;
    this.#client = client;
    this.#logger = logger;
    this.#recorder = recorder;
  }

  async run(request: BackupRetentionRequest): Promise<ForgetReport> {
    try {
      const restic = await createResticRunner(request.restic, this.#actions);
      return await runForget(
        {
          includeProjectName: request.includeProjectName,
          prune: request.prune,
          host: request.host,
          ...(request.selector ? { selector: request.selector } : {}),
          ...(request.signal ? { signal: request.signal } : {}),
        },
        {
          containers: this.#actions,
          restic,
          trust: new ImageWorkloadLabelTrust(
            new ImageLabelTrust(this.#client, this.#logger),
            request.trustImageLabels ?? false,
          ),
          ...(this.#logger ? { logger: this.#logger } : {}),
          ...(this.#recorder ? { recorder: this.#recorder } : {}),
        },
      );
    } catch (err) {
      const message = (err as Error).message;
      return {
        dryRun: false,
        workloads: [],
        fatal: request.restic.redactor ? request.restic.redactor.redactString(message) : message,
        exitCode: 1,
      };
    }
  }
}
