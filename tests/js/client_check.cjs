// Drives a live openeo-dedl server with the openEO JavaScript client (@openeo/js-client):
// connect, log in with basic auth, list collections and processes, run a synchronous process
// graph and a batch job, and print what came back as one JSON document on stdout.
// Usage: node client_check.cjs <server URL> <process graph JSON file>
"use strict";
const fs = require("fs");
const { OpenEO } = require("@openeo/js-client");

async function readAll(data) {
  // In Node the client returns the response body as a stream.
  if (typeof data === "string") return data;
  const chunks = [];
  for await (const chunk of data) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks).toString("utf8");
}

async function main() {
  const [url, graphFile] = process.argv.slice(2);
  const processGraph = JSON.parse(fs.readFileSync(graphFile, "utf8"));
  const con = await OpenEO.connect(url);
  await con.authenticateBasic("demo", "demo");
  const caps = con.capabilities();
  // Page through both lists (the list* shortcuts return the first page only).
  const collections = [];
  for await (const page of con.paginateCollections(2)) collections.push(...page);
  const processes = [];
  for await (const page of con.paginateProcesses(null, 50)) processes.push(...page);
  const sync = await con.computeResult({ process_graph: processGraph });
  const syncBody = await readAll(sync.data);

  const job = await con.createJob({ process_graph: processGraph }, "js-client batch job");
  await job.startJob();
  let status = "queued";
  const deadline = Date.now() + 120000;
  while (!["finished", "error", "canceled"].includes(status) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    status = (await job.describeJob()).status;
  }
  let batchBody = null;
  if (status === "finished") {
    const assets = await job.listResults();
    const response = await con._get(assets[0].href.replace(con.getBaseUrl(), ""), {}, "stream");
    batchBody = await readAll(response.data);
  }
  console.log(
    JSON.stringify({
      api_version: caps.apiVersion(),
      // What goes into "Authorization: Bearer ...": the openEO format has slashes, a JWT none.
      plain_token: !con.getAuthProvider().getToken().includes("/"),
      backend_title: caps.title(),
      collections: collections.map((c) => c.id),
      processes: processes.map((p) => p.id),
      sync_type: sync.type,
      sync_result: JSON.parse(syncBody),
      job_id: job.id,
      job_status: status,
      batch_result: batchBody === null ? null : JSON.parse(batchBody),
    })
  );
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : err);
  process.exit(1);
});
