/**
 * `completion bash|zsh|fish`: a shell completion script generated from the program's own command
 * tree (commands, aliases, flags, flag choices), so it can't drift from the CLI.
 */
import { Argument, Command, type Option } from 'commander';

export type Shell = 'bash' | 'zsh' | 'fish';

export interface CommandNode {
  /** Space-separated command path below the program ('' for the program, 'get plans'). */
  path: string;
  cmd: Command;
}

/** Every command below `cmd` under each name it answers to (its name and aliases), `cmd` first. */
export function walk(cmd: Command, path = ''): CommandNode[] {
  const out: CommandNode[] = [{ path, cmd }];
  for (const sub of cmd.commands) {
    for (const name of [sub.name(), ...sub.aliases()]) {
      out.push(...walk(sub, path ? `${path} ${name}` : name));
    }
  }
  return out;
}

function visibleOptions(cmd: Command): Option[] {
  return cmd.options.filter((o) => !o.hidden);
}

function flagsOf(cmd: Command): string[] {
  const flags = visibleOptions(cmd).flatMap((o) => [o.long, o.short].filter(Boolean) as string[]);
  return [...flags, '--help'];
}

function childNames(cmd: Command): string[] {
  return cmd.commands.flatMap((c) => [c.name(), ...c.aliases()]);
}

/** Single-quoted for sh/bash/zsh/fish: no expansion inside. */
function q(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function bashScript(program: Command): string {
  const name = program.name();
  const fn = `_${name.replace(/[^A-Za-z0-9]/g, '_')}`;
  const nodes = walk(program);
  const children = nodes
    .filter((n) => n.cmd.commands.length > 0)
    .map((n) => `    ${q(n.path)}) echo ${q(childNames(n.cmd).join(' '))} ;;`);
  const flags = nodes.map((n) => `    ${q(n.path)}) echo ${q(flagsOf(n.cmd).join(' '))} ;;`);
  const choices = nodes.flatMap((n) =>
    visibleOptions(n.cmd)
      .filter((o) => o.argChoices?.length)
      .flatMap((o) =>
        [o.long, o.short]
          .filter(Boolean)
          .map((f) => `    ${q(`${n.path}|${f}`)}) echo ${q(o.argChoices!.join(' '))} ;;`),
      ),
  );
  return `# ${name} completion for bash. Load it with:  source <(${name} completion bash)
${fn}_children() {
  case "$1" in
${children.join('\n')}
  esac
}
${fn}_flags() {
  case "$1" in
${flags.join('\n')}
  esac
}
${fn}_choices() {
  case "$1" in
${choices.join('\n')}
  esac
}
${fn}() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" path="" i w
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    [[ $w == -* ]] && continue
    if [[ " $(${fn}_children "$path") " == *" $w "* ]]; then path="\${path:+$path }$w"; fi
  done
  local choices
  choices="$(${fn}_choices "$path|$prev")"
  if [[ -n $choices ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$choices" -- "$cur")
  elif [[ $cur == -* ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$(${fn}_flags "$path")" -- "$cur")
  else
    mapfile -t COMPREPLY < <(compgen -W "$(${fn}_children "$path")" -- "$cur")
  fi
}
complete -o default -F ${fn} ${name}
`;
}

function zshScript(program: Command): string {
  const name = program.name();
  return `#compdef ${name}
# ${name} completion for zsh (bash completion through bashcompinit). Load it with:
#   source <(${name} completion zsh)
autoload -U +X bashcompinit && bashcompinit
${bashScript(program).split('\n').slice(1).join('\n')}`;
}

function fishScript(program: Command): string {
  const name = program.name();
  const lines = [
    `# ${name} completion for fish. Load it with:  ${name} completion fish | source`,
    `complete -c ${name} -f`,
  ];
  for (const node of walk(program)) {
    const words = node.path ? node.path.split(' ') : [];
    // Reached this command: its path words seen, none of its children yet.
    const at = words.length
      ? `__fish_seen_subcommand_from ${words[words.length - 1]}`
      : '__fish_use_subcommand';
    const kids = childNames(node.cmd);
    const notBelow = kids.length ? `; and not __fish_seen_subcommand_from ${kids.join(' ')}` : '';
    for (const sub of node.cmd.commands) {
      for (const n of [sub.name(), ...sub.aliases()]) {
        lines.push(
          `complete -c ${name} -n ${q(at + notBelow)} -a ${q(n)} -d ${q(sub.description())}`,
        );
      }
    }
    if (!words.length) continue;
    for (const o of visibleOptions(node.cmd)) {
      const parts = [`complete -c ${name} -n ${q(at + notBelow)}`];
      if (o.long) parts.push(`-l ${o.long.replace(/^--/, '')}`);
      if (o.short) parts.push(`-s ${o.short.replace(/^-/, '')}`);
      if (o.argChoices?.length) parts.push(`-r -a ${q(o.argChoices.join(' '))}`);
      else if (o.required || o.optional) parts.push('-r');
      parts.push(`-d ${q(o.description)}`);
      lines.push(parts.join(' '));
    }
  }
  return `${lines.join('\n')}\n`;
}

export function completionScript(program: Command, shell: Shell): string {
  if (shell === 'bash') return bashScript(program);
  if (shell === 'zsh') return zshScript(program);
  return fishScript(program);
}

export function register(program: Command): void {
  program.addCommand(
    new Command('completion')
      .description('print a shell completion script (bash, zsh or fish)')
      .addArgument(new Argument('<shell>', 'the shell').choices(['bash', 'zsh', 'fish']))
      .addHelpText(
        'after',
        `
Examples:
  source <(backrest-sidecar completion bash)       # in ~/.bashrc
  source <(backrest-sidecar completion zsh)        # in ~/.zshrc
  backrest-sidecar completion fish > ~/.config/fish/completions/backrest-sidecar.fish`,
      )
      .action((shell: Shell) => {
        process.stdout.write(completionScript(program, shell));
      }),
  );
}
