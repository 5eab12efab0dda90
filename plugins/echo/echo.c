/*
 * echo: answers with the request it received, as plain text:
 *
 *     METHOD TARGET\n
 *     name: value\n          (one line per header, in the order received)
 *     \n
 *     <the request body, byte for byte>
 *
 * The format is fixed: the integration tests parse it to check what the
 * host's parser handed to the plugin (header order, chunked bodies, ...).
 */
#include <mchost.h>

#include <stdlib.h>
#include <string.h>

MC_PLUGIN();

static char *put_mem(char *p, const void *s, size_t n) {
  memcpy(p, s, n);
  return p + n;
}

static char *put_str(char *p, const char *s) {
  return put_mem(p, s, strlen(s));
}

void mc_run(mc_request *req, mc_response *res) {
  const char *method = mc_request_method(req);
  const char *target = mc_request_target(req);
  size_t body_len;
  const void *body = mc_request_body(req, &body_len);
  const char *name, *value;

  /* Size first, then one allocation: the reply is sent in a single call. */
  size_t len = strlen(method) + 1 + strlen(target) + 1;
  for (size_t i = 0; mc_request_header_at(req, i, &name, &value) == 0; i++)
    len += strlen(name) + 2 + strlen(value) + 1;
  len += 1 + body_len;

  char *buf = malloc(len);
  if (!buf) {
    static const char oom[] = "out of memory\n";
    mc_response_header(res, "Content-Type", "text/plain");
    mc_response_send(res, 500, oom, sizeof oom - 1);
    return;
  }

  char *p = buf;
  p = put_str(p, method);
  p = put_mem(p, " ", 1);
  p = put_str(p, target);
  p = put_mem(p, "\n", 1);
  for (size_t i = 0; mc_request_header_at(req, i, &name, &value) == 0; i++) {
    p = put_str(p, name);
    p = put_mem(p, ": ", 2);
    p = put_str(p, value);
    p = put_mem(p, "\n", 1);
  }
  p = put_mem(p, "\n", 1);
  p = put_mem(p, body, body_len);

  mc_response_header(res, "Content-Type", "text/plain");
  /* mc_response_send() copies the body, so the buffer can go right away. */
  mc_response_send(res, 200, buf, (size_t)(p - buf));
  free(buf);
}
