/**
 * docs/labels.md, generated: every label of the BackupWorkload kind, read from its resource
 * definition (which labels, which spec path) and its JSON Schema (type, format, description),
 * with a default, an example and the error a bad value gets. The example is checked against the
 * real decoder and schema, and the error text is what the sidecar really says for the bad value,
 * so the page cannot drift from the code: `npm run docs:labels` rewrites it, and a unit test
 * fails when the committed page differs.
 */
import {
  BACKUP_WORKLOAD_KIND,
  ENABLE_LABEL,
  backupWorkloadDefinition,
  backupWorkloadFormats,
  backupWorkloadSchema,
} from '@backrest-sidecar/api';
import { decodeLabels } from '@dockop/docker';
import { AjvSchemaRegistry, describeInvalidSpec, type JsonSchema } from '@dockop/runtime';
import { DEFAULTS } from './options.js';

/** What the schema cannot say: the default (who decides it), a good value, a bad one. */
export interface LabelDoc {
  /** What it does, when the schema's description only names the label. */
  about?: string;
  default: string;
  example: string;
  bad: string;
}

/**
 * One entry per label the definition maps. A label without an entry (a new schema field) makes
 * the generator throw: document it here.
 */
export const LABEL_DOCS: Readonly<Record<string, LabelDoc>> = {
  'backrest.enable': { default: 'off (required)', example: 'true', bad: 'yes please' },
  'backrest.repo': {
    default: `\`--default-repo\` (\`${DEFAULTS.defaultRepo}\`), else the config's first repo`,
    example: 'nas',
    bad: '',
  },
  'backrest.schedule': {
    default: `\`--default-schedule\` (\`${DEFAULTS.defaultSchedule}\`)`,
    example: '15 3 * * *',
    bad: '61 * * * *',
  },
  'backrest.paths.include': {
    default: "the container's mounts (volumes and binds)",
    example: '/var/lib/postgresql/data,/etc/app',
    bad: '/data/../../etc',
  },
  'backrest.paths.exclude': { default: 'none', example: '/data/cache', bad: 'cache' },
  'backrest.pre': {
    default: 'none',
    example: 'docker exec $SELF pg_dumpall -U postgres -f /dump/all.sql',
    bad: '',
  },
  'backrest.post': { default: 'none', example: 'echo done', bad: '' },
  'backrest.keep': {
    default: `\`--default-retention\` (\`${DEFAULTS.defaultRetention}\`)`,
    example: 'daily=7,weekly=4,monthly=6',
    bad: 'daily=7,weekly=x',
  },
  'restic-compose-backup.quiesce': {
    about: '`backup-once` stops the running container before the backup and starts it again after',
    default: 'off',
    example: 'true',
    bad: 'sometimes',
  },
  'restic-compose-backup.volumes': {
    about: "Back up the container's volumes at all (restic-compose-backup)",
    default: 'on',
    example: 'false',
    bad: 'maybe',
  },
  'restic-compose-backup.volumes.include': {
    about: 'Only these volumes (restic-compose-backup)',
    default: 'all',
    example: 'pgdata',
    bad: '',
  },
  'restic-compose-backup.volumes.exclude': {
    about: 'Not these volumes (restic-compose-backup)',
    default: 'none',
    example: 'cache',
    bad: '',
  },
  'backrest.dump': {
    about:
      'Dump the database with `docker exec` in the container (the database keeps serving); the dump is backed up as `<container>.<ext>`, and a failed dump fails the backup. See docs/dumps.md',
    default: 'none (files only)',
    example: 'postgres',
    bad: 'oracle',
  },
  'backrest.dump.database': {
    default:
      'postgres: `POSTGRES_DB`, else the user; mysql/mariadb: `MARIADB_DATABASE`/`MYSQL_DATABASE`, else all databases; mongo: all; sqlite: required (the file inside the container)',
    example: 'app',
    bad: '--host=evil',
  },
  'backrest.dump.user': {
    default:
      'postgres: `POSTGRES_USER`, else `postgres`; mysql/mariadb: `root`; mongo: `MONGO_INITDB_ROOT_USERNAME`',
    example: 'backup',
    bad: '-uroot',
  },
  'backrest.dump.password-env': {
    about:
      "The NAME of the container's own variable that holds the password (never the password): it is read inside the container",
    default:
      'postgres: `POSTGRES_PASSWORD`; mysql/mariadb: `MARIADB_ROOT_PASSWORD`/`MYSQL_ROOT_PASSWORD` (root), `MARIADB_PASSWORD`/`MYSQL_PASSWORD` (other users); mongo: `MONGO_INITDB_ROOT_PASSWORD`; redis: `REDIS_PASSWORD`',
    example: 'DB_PASSWORD',
    bad: 'hunter2!',
  },
  'backrest.dump.args': {
    about:
      'Extra arguments of the dump tool, each one argv item (never shell text). A password here (`--password=…`, mysql/mongo `-p…`, redis `-a`, a URL with one) is refused: name its variable with backrest.dump.password-env',
    default: 'none',
    example: '--exclude-table=audit_log',
    bad: '',
  },
  'backrest.dump.only': {
    about: "Back up only the dump: the container's data directories are left out of the plan",
    default: 'off (the dump and the data directories)',
    example: 'true',
    bad: 'yes',
  },
};

export interface LabelRow {
  label: string;
  specPath: string;
  type: string;
  description: string;
  sensitive: boolean;
  doc: LabelDoc;
  /** What the sidecar says for `doc.bad` ('' when there is no bad example). */
  error: string;
}

type SchemaNode = {
  type?: string;
  format?: string;
  description?: string;
  minLength?: number;
  maxLength?: number;
  items?: SchemaNode;
  properties?: Record<string, SchemaNode>;
};

/** Leaf spec paths of the schema (`paths.include`), with their node. */
function leaves(node: SchemaNode, prefix = ''): [string, SchemaNode][] {
  if (node.type === 'object' && node.properties) {
    return Object.entries(node.properties).flatMap(([k, v]) =>
      leaves(v, prefix ? `${prefix}.${k}` : k),
    );
  }
  return [[prefix, node]];
}

function typeOf(node: SchemaNode): string {
  if (node.type === 'array') {
    const item = node.items ? typeOf(node.items) : 'string';
    return `list of ${item} (comma-separated)`;
  }
  const parts = [node.format ? `${node.type} (${node.format})` : (node.type ?? 'any')];
  if (node.maxLength !== undefined) parts.push(`${node.minLength ?? 0}–${node.maxLength} chars`);
  else if (node.minLength === 1) parts.push('non-empty');
  return parts.join(', ');
}

/** The label a spec path is read from: an explicit mapping, else the first prefix + path. */
function labelOf(specPath: string): string {
  const selector = backupWorkloadDefinition.selector;
  const explicit = Object.entries(selector.paths ?? {}).find(([, p]) => p === specPath);
  return explicit ? explicit[0] : `${selector.prefixes[0]}${specPath}`;
}

/** Validates `labels` the way the Docker source and the cache do: '' when valid, else the message. */
export function checkLabels(labels: Record<string, string>): string {
  const selector = backupWorkloadDefinition.selector;
  const decoded = decodeLabels(selector, labels, { containerName: 'app' });
  if (!decoded.ok) return decoded.message;
  const registry = new AjvSchemaRegistry();
  for (const f of backupWorkloadFormats()) registry.addFormat(f);
  registry.add(backupWorkloadSchema as JsonSchema);
  const result = registry.validate(backupWorkloadDefinition.schemaId, decoded.spec);
  if (result.valid) return '';
  return describeInvalidSpec(
    {
      kind: BACKUP_WORKLOAD_KIND,
      metadata: {
        name: 'app',
        labels,
        uid: 'app',
        annotations: {},
        generation: 1,
        resourceVersion: '1',
        creationTimestamp: '',
      },
    },
    result.errors,
    selector,
  );
}

export function labelRows(): LabelRow[] {
  const selector = backupWorkloadDefinition.selector;
  // Sensitive by spec path (what the labels decode to), or by label key (the legacy form).
  const sensitivePaths = new Set(selector.sensitivePaths ?? []);
  const sensitiveLabels = new Set(selector.sensitiveLabels ?? []);
  return leaves(backupWorkloadSchema as SchemaNode).map(([specPath, node]) => {
    const label = labelOf(specPath);
    const doc = LABEL_DOCS[label];
    if (!doc) throw new Error(`label ${label} (spec.${specPath}) has no entry in LABEL_DOCS`);
    const base: Record<string, string> = label === ENABLE_LABEL ? {} : { [ENABLE_LABEL]: 'true' };
    const problem = checkLabels({ ...base, [label]: doc.example });
    if (problem) throw new Error(`the example of ${label} is refused: ${problem}`);
    let error = '';
    if (doc.bad !== '') {
      error = checkLabels({ ...base, [label]: doc.bad });
      if (!error) throw new Error(`the bad example of ${label} ("${doc.bad}") is accepted`);
    }
    return {
      label,
      specPath,
      type: typeOf(node),
      description: doc.about ?? capitalize((node.description ?? '').replace(/^[\w.-]+:\s*/, '')),
      sensitive: sensitivePaths.has(specPath) || sensitiveLabels.has(label),
      doc,
      error,
    };
  });
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function code(s: string): string {
  return s === '' ? '' : `\`${s}\``;
}

/** The whole page. */
export function renderLabelReference(): string {
  const rows = labelRows();
  const out = [
    '<!-- Generated by `npm run docs:labels` from the BackupWorkload schema',
    '     (packages/backrest-api, crd-like-schemas/backup-workload.schema.json). Do not edit:',
    '     edit packages/cli/src/label-reference.ts or the schema, then regenerate. -->',
    '',
    '# Label reference',
    '',
    `A container is backed up when it carries \`${ENABLE_LABEL}=true\`. Every other label below is`,
    'optional; a label with a bad value refuses the whole container (its plan is skipped, the',
    'reconcile exits 3, `get plans` shows it as `Invalid`) and a Warning names the container, the',
    'label, the value and the rule. The errors below are the real messages for the bad values',
    'shown, for a container named `app`.',
    '',
    '| Label | Type | Default | Example |',
    '| ----- | ---- | ------- | ------- |',
    ...rows.map(
      (r) =>
        `| \`${r.label}\` | ${cell(r.type)} | ${cell(r.doc.default)} | ${code(cell(r.doc.example))} |`,
    ),
    '',
  ];
  for (const r of rows) {
    out.push(`## \`${r.label}\``, '');
    out.push(`${r.description}${r.description.endsWith('.') ? '' : '.'}`, '');
    out.push(`- Spec path: \`spec.${r.specPath}\`; type: ${r.type}`);
    out.push(`- Default: ${r.doc.default}`);
    out.push(`- Example: \`${r.label}=${r.doc.example}\``);
    if (r.sensitive) {
      out.push(
        "- Sensitive: when it only comes from an image's `LABEL`, it is dropped (with a Warning) unless `--trust-image-labels`",
      );
    }
    if (r.error) {
      out.push(
        `- Error for \`${r.label}=${r.doc.bad}\`:`,
        '',
        '  ```text',
        `  ${r.error}`,
        '  ```',
      );
    }
    out.push('');
  }
  out.push(
    'In Compose:',
    '',
    '```yaml',
    'services:',
    '  db:',
    '    image: postgres:16',
    '    labels:',
    ...rows
      .filter((r) =>
        ['backrest.enable', 'backrest.repo', 'backrest.schedule', 'backrest.keep'].includes(
          r.label,
        ),
      )
      .map((r) => `      ${r.label}: '${r.doc.example}'`),
    "      restic-compose-backup.quiesce: 'true'",
    '    volumes:',
    '      - pgdata:/var/lib/postgresql/data',
    'volumes:',
    '  pgdata:',
    '```',
    '',
  );
  return out.join('\n');
}
