// The Node peer of tests/bench/run: what master-cluster users run today.
//
//     node tests/bench/cluster.js PORT [WORKERS]
//
// Node's cluster module, its default scheduling (round-robin on Linux: the
// primary accepts every connection and hands it to a worker), WORKERS
// workers (default 2), and the hello body: 12 bytes, text/plain, with an
// explicit Content-Length so that Node does not fall back to chunked.
'use strict';

const cluster = require('node:cluster');
const http = require('node:http');

const port = Number(process.argv[2]);
const workers = Number(process.argv[3] || 2);
const body = Buffer.from('Hello world\n');
const headers = { 'Content-Type': 'text/plain', 'Content-Length': body.length };

if (!Number.isInteger(port) || port <= 0) {
  console.error('usage: node cluster.js PORT [WORKERS]');
  process.exit(2);
}

if (cluster.isPrimary) {
  let listening = 0;
  for (let i = 0; i < workers; i++) cluster.fork();
  cluster.on('listening', () => {
    // One line once every worker listens: the run script waits for it.
    if (++listening === workers) console.error(`listening on http://127.0.0.1:${port}`);
  });
  // A benchmark must not hide a crash behind a silent respawn.
  cluster.on('exit', (w, code, signal) => {
    console.error(`worker ${w.process.pid} exited: ${signal || code}`);
  });
  // The run script stops the whole process group; on a plain TERM to the
  // primary alone, take the workers down too.
  process.on('SIGTERM', () => {
    for (const id in cluster.workers) cluster.workers[id].kill();
    process.exit(0);
  });
} else {
  http
    .createServer((req, res) => {
      // The plain Node hello world (a GET has no body to read).
      res.writeHead(200, headers);
      res.end(body);
    })
    // The backlog mchost and the nginx config use.
    .listen({ port, host: '127.0.0.1', backlog: 4096 });
}
