/** `npm start`: the local stack on one machine, until Ctrl-C. */
import { stackConfigFromEnv } from "./config";
import { startPagePublisher } from "./page-publisher";
import { startStack } from "./stack";

const config = stackConfigFromEnv();
let stack: Awaited<ReturnType<typeof startStack>>;
try {
  stack = await startStack({
    config,
    worker: true,
    cron: true,
    echoWorker: process.argv.includes("--verbose"),
    log: (line) => console.log(`… ${line}`),
  });
} catch (err) {
  console.error(`npm start: ${(err as Error).message}`);
  process.exit(1);
}

// A sale created on this stack gets its page without a deploy.
const publisher = startPagePublisher({
  url: stack.workerUrl!,
  adminToken: config.adminToken,
  log: (line) => console.log(`… ${line}`),
});

console.log("\nThe flash-sale stack is up:");
for (const line of stack.started) console.log(`  • ${line}`);
console.log(`\n  API     ${stack.workerUrl}/api/v1/health`);
console.log(`  Admin   npm run sale -- list   (ADMIN_TOKEN=${config.adminToken})`);
console.log(`  Pages   ${stack.workerUrl}/sales/<sale_id>/   (published here as soon as a sale is created)`);
console.log("  Demo    npm run sale -- demo   (a sale in a minute, sign-in links for test shoppers)");
console.log("\nCtrl-C stops everything started here.");

let stopping = false;
const shutdown = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  console.log(`\n${signal}: stopping…`);
  await publisher.stop();
  await stack.stop();
  console.log("stopped.");
  process.exit(0);
};
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGHUP", () => void shutdown("SIGHUP"));
