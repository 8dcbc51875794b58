// Calls the ledger as a TypeScript user does, with the official ingress
// client (@restatedev/restate-sdk-clients, installed in .tools by `make
// setup`), untyped. tests/integration/test_ts_client.py runs it.
//
//   node tests/ts_client/calls.mjs INGRESS_URL ACCOUNT TRANSFER
//
// ACCOUNT is opened and funded here; TRANSFER must exist already. The calls
// with no argument (balance, history, status) are the point: the client
// sends them as an empty body with content-type application/json.
//
// Prints one JSON line per call, {"call": ..., "answer": ...} or
// {"call": ..., "error": {"status": ..., "message": ...}}, and exits 1 if
// any call failed, 2 on a bad command line or a missing client package.

import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const TOOLS_DIR = fileURLToPath(new URL("../../.tools/", import.meta.url));
const PACKAGE = "@restatedev/restate-sdk-clients";

function loadClient() {
  // .tools is not on node's module path for this script: resolve the
  // package from there explicitly.
  const require = createRequire(TOOLS_DIR);
  try {
    return require(PACKAGE);
  } catch (err) {
    console.error(`cannot load ${PACKAGE} from ${TOOLS_DIR}node_modules (${err.code ?? err.message}); ` +
      "run `make setup` to install it");
    process.exit(2);
  }
}

async function call(name, invoke) {
  try {
    console.log(JSON.stringify({ call: name, answer: await invoke() }));
    return true;
  } catch (err) {
    const status = err.status ?? null;
    // fetch's own failures (e.g. ECONNREFUSED) say why in their cause.
    const message = err.responseText ?? [err.message, err.cause?.code ?? err.cause?.message].filter(Boolean).join(": ");
    console.log(JSON.stringify({ call: name, error: { status, message } }));
    return false;
  }
}

async function main() {
  const [url, account, transfer] = process.argv.slice(2);
  if (!url || !account || !transfer) {
    console.error("usage: node calls.mjs INGRESS_URL ACCOUNT TRANSFER");
    process.exit(2);
  }
  const clients = loadClient();
  const rs = clients.connect({ url });
  const acct = rs.objectClient({ name: "Account" }, account);
  const xfer = rs.objectClient({ name: "Transfer" }, transfer);

  // In order: each call needs the one before it to have landed. No call
  // has a timeout option: the test that runs this holds the deadline, and
  // balance(), history() and status() must go out with no argument at all.
  const results = [
    await call("Account.open", () => acct.open({})),
    await call("Account.deposit", () => acct.deposit({ asset: "USD", amount: "10.00" })),
    await call("Account.balance", () => acct.balance()),
    await call("Account.history", () => acct.history()),
    await call("Transfer.status", () => xfer.status()),
  ];
  process.exit(results.every(Boolean) ? 0 : 1);
}

await main();
