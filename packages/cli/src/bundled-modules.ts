/**
 * Registers the packages the bundle carries, so `--plugin`s share them (see shared-modules.ts).
 * Imported only by the bundle entry; the unbundled CLI shares node_modules instead.
 */
import 'reflect-metadata';
import * as api from '@backrest-sidecar/api';
import * as backrestModel from '@backrest-sidecar/backrest-model';
import * as configSink from '@backrest-sidecar/config-sink';
import * as backupController from '@backrest-sidecar/controller-backup';
import * as planController from '@backrest-sidecar/controller-plan';
import * as retentionController from '@backrest-sidecar/controller-retention';
import * as restic from '@backrest-sidecar/restic';
import * as docker from '@dockop/docker';
import * as runtime from '@dockop/runtime';
import * as inversify from 'inversify';
import { registerSharedModules } from './shared-modules.js';

registerSharedModules({
  '@dockop/runtime': runtime,
  '@dockop/docker': docker,
  inversify,
  // A global polyfill: sharing the name is enough (no second copy evaluated).
  'reflect-metadata': {},
  '@backrest-sidecar/api': api,
  '@backrest-sidecar/backrest-model': backrestModel,
  '@backrest-sidecar/config-sink': configSink,
  '@backrest-sidecar/restic': restic,
  '@backrest-sidecar/controller-plan': planController,
  '@backrest-sidecar/controller-backup': backupController,
  '@backrest-sidecar/controller-retention': retentionController,
});
