/**
 * `npm run synth`: `cdk synth --quiet` (extra arguments passed on) whose output on a configuration
 * error is only the list of problems: the CLI's closing "Subprocess exited with error 1" is dropped.
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";

if (process.argv.includes("--help") || process.argv.includes("-h")) {
  console.log(`usage: npm run synth [-- <cdk synth options>]

Validates the settings in cdk.json (docs/configuration.md) and synthesizes the stack into cdk.out.`);
  process.exit(0);
}

const child = spawn("npx", ["cdk", "synth", "--quiet", ...process.argv.slice(2)], {
  stdio: ["inherit", "inherit", "pipe"],
});
createInterface({ input: child.stderr }).on("line", (line) => {
  if (!/Subprocess exited with error \d+$/.test(line)) console.error(line);
});
child.on("exit", (code) => {
  process.exitCode = code ?? 1;
});
