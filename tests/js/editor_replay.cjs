// Replays what the openEO Web Editor (0.15.x) asks of a back-end, with the JS client it bundles
// (@openeo/js-client): connect, log in with HTTP Basic, the discovery it runs after logging in,
// the Jobs panel, then a batch job (create, start, poll, results, logs) and the map preview's
// reads of the GeoTIFF result (HEAD, then byte ranges, from another origin).
// Prints one JSON document on stdout: every request sent, and what came back.
// Usage: node editor_replay.cjs <server URL> <process graph JSON file>
"use strict";
const fs = require("fs");
const axios = require("axios");
const { OpenEO } = require("@openeo/js-client");

// The editor runs on its own origin: what a browser would send with every request.
const ORIGIN = "https://editor.openeo.org";

const requests = [];
axios.interceptors.request.use((config) => {
  // The client passes query parameters separately; record them as the URL a browser sends.
  // axios appends a relative URL to baseURL (it does not resolve it as a browser would).
  const absolute = /^https?:\/\//i.test(config.url);
  const base = (config.baseURL || "").replace(/\/+$/, "");
  const url = new URL(absolute ? config.url : `${base}/${config.url.replace(/^\/+/, "")}`);
  for (const [key, value] of Object.entries(config.params || {})) {
    if (value !== undefined && value !== null) url.searchParams.set(key, value);
  }
  requests.push(`${config.method.toUpperCase()} ${url.pathname}${url.search}`);
  return config;
});

async function main() {
  const [url, graphFile] = process.argv.slice(2);
  const processGraph = JSON.parse(fs.readFileSync(graphFile, "utf8"));

  // store/index.js `connect`: well-known, capabilities, then the login dialog's providers.
  const con = await OpenEO.connect(url, { addNamespaceToProcess: true });
  const providers = await con.listAuthProviders();
  const basic = providers.find((p) => p.getType() === "basic");
  await basic.login("demo", "demo");

  // store/index.js `discover` (the editor sends these at once; here in the same order, one by
  // one, so the recorded sequence is stable), then the Jobs panel's list.
  const collections = await con.listCollections();
  const processes = await con.listProcesses();
  await con.listFileTypes();
  // The editor asks for these only where the capabilities list them (API 1.3 lists no UDF
  // runtimes here).
  const caps = con.capabilities();
  if (caps.hasFeature("listServiceTypes")) await con.listServiceTypes();
  if (caps.hasFeature("listUdfRuntimes")) await con.listUdfRuntimes();
  const account = await con.describeAccount();
  await con.listUserProcesses();
  const jobsBefore = await con.listJobs();

  // Jobs panel: create, start, watch, then "View results" and "Show logs".
  const job = await con.createJob({ process_graph: processGraph }, "Web Editor replay");
  await job.startJob();
  let status = job.status;
  const deadline = Date.now() + 180000;
  while (!["finished", "error", "canceled"].includes(status) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    status = (await job.describeJob()).status;
  }
  const assets = status === "finished" ? await job.listResults() : [];
  const logs = await job.debugJob().nextLogs();

  // The map preview (geotiff.js): HEAD for the size, a preflight for the Range header, then
  // ranges; from the editor's origin, so the CORS headers decide what it may read.
  const reads = {};
  const tiff = assets.find((a) => (a.type || "").startsWith("image/tiff"));
  if (tiff) {
    const plain = { validateStatus: () => true, responseType: "arraybuffer" };
    const head = await axios.head(tiff.href, { ...plain, headers: { Origin: ORIGIN } });
    const preflight = await axios.options(tiff.href, {
      ...plain,
      headers: {
        Origin: ORIGIN,
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "range",
      },
    });
    const size = Number(head.headers["content-length"]);
    const ranged = async (range) => {
      const r = await axios.get(tiff.href, { ...plain, headers: { Origin: ORIGIN, Range: range } });
      return { status: r.status, headers: r.headers, base64: Buffer.from(r.data).toString("base64") };
    };
    reads.head = { status: head.status, headers: head.headers, bytes: head.data.byteLength };
    reads.preflight = { status: preflight.status, headers: preflight.headers };
    reads.first = await ranged("bytes=0-1023");
    reads.last = await ranged(`bytes=${Math.max(size - 512, 0)}-${size - 1}`);
    reads.beyond = await ranged(`bytes=${size}-`);
    reads.href = tiff.href;
  }

  console.log(
    JSON.stringify({
      requests,
      providers: providers.map((p) => p.getType()),
      collections: collections.collections.map((c) => c.id),
      processes: processes.processes.map((p) => p.id),
      user_id: account.user_id,
      jobs_before: jobsBefore.map((j) => j.id),
      job_id: job.id,
      job_status: status,
      assets: assets.map((a) => ({ href: a.href, type: a.type })),
      logs: logs.map((l) => ({ level: l.level, message: l.message })),
      reads,
    })
  );
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : err);
  process.exit(1);
});
