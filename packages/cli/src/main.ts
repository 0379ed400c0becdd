// Entry point of the backrest-sidecar binary. reflect-metadata must load before any decorator.
import 'reflect-metadata';
import { buildProgram } from './program.js';
import { fatal } from './exit.js';

try {
  await buildProgram().parseAsync(process.argv);
} catch (err) {
  process.exitCode = fatal(err);
}
