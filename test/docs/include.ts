// The operator's guide includes the CLI's recorded output (docs/cli-output/<name>.txt) between markers:
//   <!-- cli-output:<name> -->  ...  <!-- /cli-output -->
const BLOCK = /<!-- cli-output:([a-z0-9-]+) -->\n[\s\S]*?<!-- \/cli-output -->/g;

/** Replaces each marked block of the guide with the output it names, as a text block. */
export function includeOutputs(markdown: string, read: (name: string) => string): string {
  return markdown.replace(BLOCK, (_, name: string) => block(name, read(name)));
}

/** The names the guide includes, in order. */
export function includedNames(markdown: string): string[] {
  return [...markdown.matchAll(BLOCK)].map((match) => match[1] ?? '');
}

function block(name: string, output: string): string {
  return `<!-- cli-output:${name} -->\n\`\`\`text\n${output.trimEnd()}\n\`\`\`\n<!-- /cli-output -->`;
}
