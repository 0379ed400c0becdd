/**
 * Backrest runs a command hook's text through Go's text/template before feeding it to the shell
 * (internal/hook/types/command.go: `hookutil.RenderTemplate(h.GetActionCommand().GetCommand(),
 * vars)`, internal/hook/hookutil/templateutil.go: `template.New("template").Parse(text)` with the
 * default `{{`/`}}` delimiters). A label's hook such as `awk '{{print}}'` or
 * `echo {{ .Plan.Id }}` would be parsed as template actions: refused (the hook fails) or,
 * worse, expanded. So hook text we write is escaped to render as itself.
 *
 * Go's lexer (text/template/parse/lex.go, lexText) only looks for the left delimiter in text:
 * a `}}` outside an action is plain text. So only `{{` needs escaping, and the documented way to
 * emit it is an action printing a string constant: `{{"{{"}}`. A `}}` needs nothing.
 */
export const GO_TEMPLATE_OPEN_ESCAPED = '{{"{{"}}';

/** `text` as a Go template that renders exactly `text`. */
export function escapeGoTemplate(text: string): string {
  return text.replaceAll('{{', GO_TEMPLATE_OPEN_ESCAPED);
}

/**
 * Inverse of escapeGoTemplate (how we read our own hooks back). Text that was never escaped (a
 * file written before escaping existed) comes back unchanged unless it holds the escape itself.
 */
export function unescapeGoTemplate(text: string): string {
  return text.replaceAll(GO_TEMPLATE_OPEN_ESCAPED, '{{');
}
