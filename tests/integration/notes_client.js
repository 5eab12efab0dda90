// Node clients of plugins/notes for test_notes.c, with Node 20's fetch.
//
//   node notes_client.js sse PORT TEXT   reads GET /events as a stream;
//       once it is open, POSTs TEXT with another fetch (another
//       connection); prints "event ID JSON" for the event that carries
//       TEXT, then "posted STATUS LOCATION"
//   node notes_client.js crud PORT TEXT  POST, GET, list, DELETE, GET:
//       prints one line "METHOD PATH STATUS [BODY]" per request
//
// Exit status 0, or 1 with a message on stderr.
'use strict';

const [cmd, port, text] = process.argv.slice(2);
const base = `http://127.0.0.1:${port}`;
const deadline = setTimeout(() => {
  console.error('timed out');
  process.exit(1);
}, 20000);

async function post(body) {
  return fetch(`${base}/notes`, {
    method: 'POST',
    headers: {'Content-Type': 'application/json'},
    body: JSON.stringify(body),
  });
}

async function sse() {
  const res = await fetch(`${base}/events`);
  if (res.status !== 200 ||
      !res.headers.get('content-type').startsWith('text/event-stream'))
    throw new Error(`GET /events: ${res.status}`);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '', posted = null;
  for (;;) {
    const {value, done} = await reader.read();
    if (done)
      throw new Error('the stream ended before the note came');
    buffer += decoder.decode(value, {stream: true});
    // The stream is open once its first event (retry:) came.
    if (posted === null && buffer.includes('\n\n'))
      posted = await post({text});
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const event = {};
      for (const line of buffer.slice(0, end).split('\n')) {
        if (line.startsWith(':'))
          continue;
        const colon = line.indexOf(':');
        event[line.slice(0, colon)] = line.slice(colon + 1).trimStart();
      }
      buffer = buffer.slice(end + 2);
      if (event.data && JSON.parse(event.data).text === text) {
        console.log(`event ${event.id} ${event.data}`);
        console.log(`posted ${posted.status} ${posted.headers.get('location')}`);
        await reader.cancel();
        return;
      }
    }
  }
}

async function crud() {
  const show = async (method, path, res) => {
    const body = res.status === 204 ? '' : await res.text();
    console.log(`${method} ${path} ${res.status} ${body}`.trimEnd());
  };
  const created = await post({text});
  const note = await created.clone().json();
  await show('POST', '/notes', created);
  const path = created.headers.get('location');
  await show('GET', path, await fetch(`${base}${path}`));
  await show('GET', '/notes', await fetch(`${base}/notes`));
  await show('DELETE', path, await fetch(`${base}${path}`, {method: 'DELETE'}));
  await show('GET', path, await fetch(`${base}${path}`));
  console.log(`id ${note.id}`);
}

(cmd === 'sse' ? sse() : crud())
    .then(() => {
      clearTimeout(deadline);
      process.exit(0); // not waiting for idle keep-alive connections
    })
    .catch((e) => {
      console.error(e.message);
      process.exit(1);
    });
