/**
 * Backrest's cron dialect for controllers that schedule work themselves (`daemon
 * --backup-schedule`): the same parser and next-fire computation the config sink validates plans
 * with, so what we run fires when Backrest would fire the same expression.
 */
export {
  CronError,
  nextCronFire,
  parseCron,
  type CronClock,
  type CronSchedule,
  type ParsedCron,
} from '@backrest-sidecar/backrest-model';
