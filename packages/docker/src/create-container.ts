import type Dockerode from 'dockerode';

/**
 * `POST /containers/create` with the container spec in the body and nothing but `name` and
 * `platform` in the query string.
 *
 * Why: dockerode's `createContainer(opts)` hands `opts` to docker-modem, which puts every option
 * into the URL (`buildQuerystring(opts._query || opts)`) as well as into the body. `Env` (restic
 * passwords, cloud keys) then appears in request lines, which socket proxies and dockerd's debug
 * log record. docker-modem honours `_query` / `_body`, so the spec goes only where it belongs.
 *
 * Every container create in the project goes through here (a lint rule refuses
 * `x.createContainer(...)` elsewhere). Exec create and service create carry no query string in
 * dockerode (their paths have no `?`), so they are not affected.
 */
export function createContainer(
  docker: Pick<Dockerode, 'createContainer'>,
  options: Dockerode.ContainerCreateOptions,
  request: { abortSignal?: AbortSignal } = {},
): Promise<Dockerode.Container> {
  const { name, platform, abortSignal, ...spec } = options;
  const query: Record<string, string> = {};
  if (name !== undefined) query['name'] = name;
  if (platform !== undefined) query['platform'] = platform;
  const signal = request.abortSignal ?? abortSignal;
  const split = {
    _query: query,
    _body: spec,
    ...(signal ? { abortSignal: signal } : {}),
  };
  // dockerode's types do not know `_query`/`_body`; docker-modem reads them (see above).
  // eslint-disable-next-line no-restricted-syntax -- the one sanctioned call
  return docker.createContainer(split as unknown as Dockerode.ContainerCreateOptions);
}
