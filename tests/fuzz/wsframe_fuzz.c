/*
 * wsframe_fuzz.c - the WebSocket frame parser (host/wsframe.c) under
 * libFuzzer.
 *
 * The first byte picks the message limit, the second how the rest (what a
 * client sends) is cut into reads. The stream is parsed whole and in those
 * pieces, and both runs must report the same events: cutting a stream must
 * never change what it means. Each event must keep the parser's promises
 * (wsframe.h): data only inside a message and within the limit, text that
 * is UTF-8 as a whole, control frames of at most 125 bytes, close codes
 * that may travel, nothing after a close or an error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "wsframe.h"

#define FUZZ_CHECK(cond) ((cond) ? (void)0 : fuzz_fail(#cond, __LINE__))

static void fuzz_fail(const char *what, int line) {
  fprintf(stderr, "wsframe_fuzz.c:%d: broken promise: %s\n", line, what);
  abort();
}

/* What a run reported, in a few numbers: equal runs give equal sums. */
struct fuzz_trace {
  uint64_t hash;
  unsigned events;
};

static void fuzz_mix(struct fuzz_trace *t, uint64_t v) {
  t->hash = (t->hash ^ v) * 0x100000001b3ull;
}

static void fuzz_run(const uint8_t *input, size_t len, uint64_t max,
                     unsigned cut_seed, struct fuzz_trace *t) {
  struct wsframe_parser p;
  struct fuzz_trace message = {0, 0};
  uint8_t *in = malloc(len > 0 ? len : 1);
  uint32_t utf8 = 0, rng = cut_seed * 2654435761u + 1;
  uint64_t message_len = 0;
  int in_message = 0, over = 0;
  size_t off = 0;

  FUZZ_CHECK(in != NULL);
  memcpy(in, input, len);
  wsframe_init(&p, max);
  t->hash = 0xcbf29ce484222325ull;
  t->events = 0;
  while (off < len) {
    size_t end = len;
    if (cut_seed != 0) {
      rng = rng * 1103515245u + 12345u;
      end = off + 1 + (rng >> 16) % 23;
      if (end > len)
        end = len;
    }
    while (off < end) {
      struct wsframe_ev ev;
      size_t used = wsframe_parse(&p, in + off, end - off, &ev);
      FUZZ_CHECK(used <= end - off);
      off += used;
      if (ev.type == WSFRAME_NONE) {
        FUZZ_CHECK(off == end);
        break;
      }
      FUZZ_CHECK(!over);
      /* Counted and mixed so that how the data came in pieces does not
       * show: its bytes, and each message's end. */
      if (ev.type != WSFRAME_DATA) {
        t->events++;
        fuzz_mix(t, (uint64_t)ev.type << 8 | (uint64_t)ev.opcode);
      }
      if (ev.type == WSFRAME_DATA) {
        FUZZ_CHECK(ev.opcode == WSFRAME_TEXT || ev.opcode == WSFRAME_BINARY);
        FUZZ_CHECK(ev.first == !in_message);
        FUZZ_CHECK(ev.len > 0 || ev.last);
        in_message = !ev.last;
        message_len = (ev.first ? 0 : message_len) + ev.len;
        FUZZ_CHECK(max == 0 || message_len <= max);
        if (ev.opcode == WSFRAME_TEXT) {
          if (ev.first)
            utf8 = 0;
          FUZZ_CHECK(wsframe_utf8(&utf8, ev.data, ev.len) == 0);
          FUZZ_CHECK(!ev.last || utf8 == 0);
        }
        /* Only whole messages count: where a text message turns out
         * invalid decides how much of it was reported before the error. */
        if (ev.first)
          message.hash = 0xcbf29ce484222325ull;
        for (size_t i = 0; i < ev.len; i++)
          fuzz_mix(&message, ev.data[i]);
        if (ev.last) {
          t->events++;
          fuzz_mix(t, message.hash);
          fuzz_mix(t, (uint64_t)ev.type << 8 | (uint64_t)ev.opcode);
        }
      } else if (ev.type == WSFRAME_CONTROL) {
        FUZZ_CHECK(ev.opcode == WSFRAME_PING || ev.opcode == WSFRAME_PONG ||
                   ev.opcode == WSFRAME_CLOSE);
        FUZZ_CHECK(ev.len <= WSFRAME_CONTROL_MAX);
        for (size_t i = 0; i < ev.len; i++)
          fuzz_mix(t, ev.data[i]);
        if (ev.opcode == WSFRAME_CLOSE) {
          uint32_t st = 0;
          FUZZ_CHECK(ev.code == WS_CLOSE_NO_STATUS ||
                     wsframe_close_code_ok(ev.code));
          FUZZ_CHECK(wsframe_utf8(&st, (const uint8_t *)ev.reason,
                                  ev.reason_len) == 0 &&
                     st == 0);
          fuzz_mix(t, (uint64_t)ev.code);
          over = 1;
        }
      } else {
        FUZZ_CHECK(ev.code == WS_CLOSE_PROTOCOL ||
                   ev.code == WS_CLOSE_BAD_DATA || ev.code == WS_CLOSE_TOO_BIG);
        FUZZ_CHECK(ev.code != WS_CLOSE_TOO_BIG || max > 0);
        fuzz_mix(t, (uint64_t)ev.code);
        over = 1;
      }
    }
  }
  free(in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len) {
  struct fuzz_trace whole, cut;
  uint64_t max;

  if (len < 2)
    return 0;
  max = data[0] == 0 ? 0 : (uint64_t)data[0] * 7;
  fuzz_run(data + 2, len - 2, max, 0, &whole);
  fuzz_run(data + 2, len - 2, max, (unsigned)data[1] + 1, &cut);
  FUZZ_CHECK(whole.events == cut.events && whole.hash == cut.hash);
  return 0;
}
