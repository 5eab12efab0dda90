// WebSocket clients for test_websocket.c on Node's `ws` package.
//
//   node ws_client.js WS_PACKAGE_DIR SCENARIO PORT [ARG...]
//
// Prints what it saw; exits 0 when the server behaved, else prints the
// reason and exits 1. Every wait has a deadline.
'use strict';
const [wsPackage, scenario, port, ...args] = process.argv.slice(2);
const WebSocket = require(wsPackage);

const T = 10000; // ms: the deadline of any single wait

function fail(msg) {
  console.log('FAIL:', msg);
  process.exit(1);
}
setTimeout(() => fail('timed out'), 6 * T).unref();

function open(path = '/ws') {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`,
                           {perMessageDeflate: false, maxPayload: 0});
  const queue = [], waiting = [];
  ws.on('message', (data, isBinary) => {
    const m = {data, isBinary};
    if (waiting.length) waiting.shift()(m); else queue.push(m);
  });
  ws.next = () => new Promise((resolve, reject) => {
    if (queue.length) return resolve(queue.shift());
    const t = setTimeout(() => reject(new Error('no message')), T);
    waiting.push((m) => { clearTimeout(t); resolve(m); });
  });
  ws.closed = new Promise((resolve) => ws.on('close', (code, reason) =>
    resolve({code, reason: reason.toString()})));
  ws.opened = new Promise((resolve, reject) => {
    ws.on('open', resolve);
    ws.on('error', reject);
  });
  return ws;
}

async function echo() {
  const ws = open();
  await ws.opened;
  ws.send('hello from node');
  let m = await ws.next();
  if (m.isBinary || m.data.toString() !== 'hello from node') fail('text echo');
  const bin = Buffer.alloc(100000, 7);
  ws.send(bin);
  m = await ws.next();
  if (!m.isBinary || !m.data.equals(bin)) fail('binary echo');
  console.log('ok echo text and binary');
  // fragmented: fin false, then the last fragment
  ws.send('frag', {fin: false});
  ws.send('ment', {fin: false});
  ws.send('ed', {fin: true});
  m = await ws.next();
  if (m.data.toString() !== 'fragmented') fail('fragmented text');
  console.log('ok fragmented');
  const pong = new Promise((resolve) => ws.once('pong', resolve));
  ws.ping('node ping');
  const data = await pong;
  if (data.toString() !== 'node ping') fail('pong payload');
  console.log('ok ping/pong');
  ws.close(4000, 'node done');
  const c = await ws.closed;
  if (c.code !== 4000) fail(`client close echoed as ${c.code}`);
  console.log('ok client close echoed', c.code);
}

async function serverClose() {
  const ws = open();
  await ws.opened;
  ws.send('close:1000:normal end');
  const c = await ws.closed;
  if (c.code !== 1000 || c.reason !== 'normal end')
    fail(`server close: ${c.code} ${c.reason}`);
  console.log('ok server close', c.code, c.reason);
}

async function tooBig(limit) {
  const ws = open();
  await ws.opened;
  ws.send(Buffer.alloc(Number(limit) + 1));
  const c = await ws.closed;
  if (c.code !== 1009) fail(`over the limit: close ${c.code}`);
  console.log('ok over the limit: 1009');
}

const scenarios = {echo, 'server-close': serverClose, 'too-big': tooBig};
if (!scenarios[scenario]) fail(`unknown scenario ${scenario}`);
scenarios[scenario](...args).then(() => process.exit(0),
                                  (e) => fail(e.stack || e));
