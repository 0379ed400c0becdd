import { expect } from 'chai';
import { DockerSource, dockerModule } from '@dockop/docker';
import { Container } from 'inversify';
import { dockerModuleOptions, planControllerOptions } from '../app.js';
import { resolveSettings } from '../options.js';
import { parseCommand } from '../parse-command.spec-support.js';
import { daemonAppOptions, daemonCommand, type DaemonOptions } from './daemon.js';

/** The daemon's Docker wiring for argv, down to the DockerSource's informer. */
function wiring(argv: string[]): {
  watchEvents: boolean;
  resyncPeriodMs: number | undefined;
  planWatchesEvents: boolean | undefined;
} {
  const opts = parseCommand<DaemonOptions>(daemonCommand(), argv);
  const settings = resolveSettings(opts, {});
  const app = daemonAppOptions(opts);
  const options = dockerModuleOptions(settings, app);
  const container = new Container();
  container.load(dockerModule(options));
  return {
    watchEvents: container.get<DockerSource>(DockerSource).informer.watchEvents,
    resyncPeriodMs: options.resyncPeriodMs,
    planWatchesEvents: planControllerOptions(settings, app).watchEvents,
  };
}

describe('daemon --with-events', () => {
  it('without it: no events stream, a relist (and reconcile) every --interval only', () => {
    expect(wiring(['--interval', '15s'])).to.deep.equal({
      watchEvents: false,
      resyncPeriodMs: 15_000,
      planWatchesEvents: false,
    });
  });

  it('with it: the events stream drives reconciles, --interval still relists', () => {
    expect(wiring(['--with-events'])).to.deep.equal({
      watchEvents: true,
      resyncPeriodMs: 60_000,
      planWatchesEvents: true,
    });
  });

  it('one-shot commands never open /events (one list is all they read)', () => {
    const settings = resolveSettings(
      parseCommand<DaemonOptions>(daemonCommand(), ['--with-events']),
      {},
    );
    const options = dockerModuleOptions(settings, { mode: 'once', logStream: process.stdout });
    expect(options.watchEvents).to.equal(false);
    expect(options).to.not.have.property('resyncPeriodMs');
  });
});
