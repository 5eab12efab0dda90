/*
 * wsframe.c - WebSocket frames (RFC 6455, section 5).
 *
 * The parser takes whatever bytes a read brought, however a frame is cut,
 * and reports one event at a time: a piece of a data message (unmasked in
 * place, so a message that arrived whole is handed on without a copy), a
 * whole control frame (at most 125 bytes, kept here because it may come in
 * pieces and interrupt a fragmented message), or the first rule the client
 * broke, with the close code that says which. It remembers the message in
 * progress across frames: the order of continuations, the running length
 * against the limit, and the UTF-8 state of a text message, so that
 * invalid text fails as soon as its first bad byte arrives.
 */
#include "wsframe.h"

#include <string.h>

enum { ST_HEAD, ST_PAYLOAD, ST_DONE };

void wsframe_init(struct wsframe_parser *p, uint64_t max_message) {
  memset(p, 0, sizeof *p);
  p->max_message = max_message;
  p->state = ST_HEAD;
  p->head_need = 2;
}

/* ---- UTF-8 ----
 *
 * The state is what the next byte may be: the number of continuation bytes
 * still due (bits 0-1) and the range the next one must fall in (bits 8-15
 * and 16-23): the first continuation's range rules out overlong forms
 * (E0, F0), surrogates (ED) and code points past U+10FFFF (F4). */

static uint32_t utf8_lead(uint8_t b) {
#define NEED(n, lo, hi)                                                        \
  ((uint32_t)(n) | (uint32_t)(lo) << 8 | (uint32_t)(hi) << 16)
  if (b >= 0xc2 && b <= 0xdf)
    return NEED(1, 0x80, 0xbf);
  if (b == 0xe0)
    return NEED(2, 0xa0, 0xbf);
  if (b == 0xed)
    return NEED(2, 0x80, 0x9f);
  if (b >= 0xe1 && b <= 0xef)
    return NEED(2, 0x80, 0xbf);
  if (b == 0xf0)
    return NEED(3, 0x90, 0xbf);
  if (b >= 0xf1 && b <= 0xf3)
    return NEED(3, 0x80, 0xbf);
  if (b == 0xf4)
    return NEED(3, 0x80, 0x8f);
  return 0; /* 80-C1 and F5-FF never lead */
}

int wsframe_utf8(uint32_t *state, const uint8_t *s, size_t len) {
  uint32_t st = *state;
  size_t i = 0;

  while (i < len) {
    if (st == 0) {
      /* ASCII, eight bytes at a time */
      while (i + 8 <= len) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        if (w & 0x8080808080808080ull)
          break;
        i += 8;
      }
      if (i == len)
        break;
      if (s[i] < 0x80) {
        i++;
        continue;
      }
      if ((st = utf8_lead(s[i])) == 0)
        return -1;
    } else {
      uint8_t lo = (uint8_t)(st >> 8), hi = (uint8_t)(st >> 16);
      if (s[i] < lo || s[i] > hi)
        return -1;
      st = (st & 3) - 1;
      if (st != 0)
        st = NEED(st, 0x80, 0xbf);
    }
    i++;
  }
#undef NEED
  *state = st;
  return 0;
}

int wsframe_close_code_ok(int code) {
  return (code >= 1000 && code <= 1014 && code != 1004 && code != 1005 &&
          code != 1006) ||
         (code >= 3000 && code <= 4999);
}

size_t wsframe_head(uint8_t *out, int opcode, uint64_t len) {
  out[0] = (uint8_t)(0x80 | opcode);
  if (len < 126) {
    out[1] = (uint8_t)len;
    return 2;
  }
  if (len <= 0xffff) {
    out[1] = 126;
    out[2] = (uint8_t)(len >> 8);
    out[3] = (uint8_t)len;
    return 4;
  }
  out[1] = 127;
  for (int i = 0; i < 8; i++)
    out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
  return 10;
}

/* ---- the parser ---- */

/* The client broke a rule: reported once, then everything is ignored. */
static int fail(struct wsframe_parser *p, struct wsframe_ev *ev, int code,
                const char *reason) {
  p->state = ST_DONE;
  ev->type = WSFRAME_ERROR;
  ev->opcode = 0;
  ev->data = NULL;
  ev->len = 0;
  ev->code = code;
  ev->reason = reason;
  ev->reason_len = strlen(reason);
  return 1;
}

static void unmask(struct wsframe_parser *p, uint8_t *d, size_t n) {
  size_t i = 0;
  if (n >= 16) {
    uint8_t m8[8];
    uint64_t m;
    for (int k = 0; k < 8; k++)
      m8[k] = p->mask[(p->mask_pos + (unsigned)k) & 3];
    memcpy(&m, m8, 8);
    for (; i + 8 <= n; i += 8) {
      uint64_t w;
      memcpy(&w, d + i, 8);
      w ^= m;
      memcpy(d + i, &w, 8);
    }
  }
  for (; i < n; i++)
    d[i] ^= p->mask[(p->mask_pos + i) & 3];
  p->mask_pos = (unsigned)((p->mask_pos + n) & 3);
}

/* What is wrong with a frame's first two bytes, or NULL. */
static const char *head_error(const uint8_t *h) {
  if (h[0] & 0x70)
    return "RSV bits set, and no extension was negotiated";
  if ((h[0] & 0x07) > 2) /* 3-7 and B-F are reserved */
    return "unknown opcode";
  if (!(h[1] & 0x80))
    return "client frame not masked";
  return NULL;
}

/* How many head bytes this frame has, from its first two. */
static unsigned head_size(const uint8_t *h) {
  unsigned len7 = h[1] & 0x7f;
  return 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + 4;
}

/* The head is complete: checks it and sets the frame up. Returns 1 when an
 * event is ready (an error, or an empty frame that completes something). */
static int frame_begin(struct wsframe_parser *p, struct wsframe_ev *ev) {
  const uint8_t *h = p->head;
  unsigned len7 = h[1] & 0x7f, off = 2;
  uint64_t len = len7;
  int control;

  p->fin = h[0] >> 7;
  p->opcode = h[0] & 0x0f;
  control = (p->opcode & 0x8) != 0;
  if (len7 == 126) {
    len = (uint64_t)h[2] << 8 | h[3];
    off = 4;
  } else if (len7 == 127) {
    len = 0;
    for (int i = 0; i < 8; i++)
      len = len << 8 | h[2 + i];
    off = 10;
  }
  memcpy(p->mask, h + off, 4);
  p->mask_pos = 0;
  p->left = len;
  p->control_len = 0;

  if (len7 == 127 && (len >> 63) != 0)
    return fail(p, ev, WS_CLOSE_PROTOCOL, "frame length with its top bit set");
  if ((len7 == 126 && len < 126) || (len7 == 127 && len <= 0xffff))
    return fail(p, ev, WS_CLOSE_PROTOCOL, "length not in its shortest form");
  if (control) {
    if (!p->fin)
      return fail(p, ev, WS_CLOSE_PROTOCOL, "fragmented control frame");
    if (len > WSFRAME_CONTROL_MAX)
      return fail(p, ev, WS_CLOSE_PROTOCOL,
                  "control frame longer than 125 bytes");
  } else if (p->opcode == WSFRAME_CONT) {
    if (p->message == 0)
      return fail(p, ev, WS_CLOSE_PROTOCOL,
                  "continuation frame without a message");
  } else {
    if (p->message != 0)
      return fail(p, ev, WS_CLOSE_PROTOCOL,
                  "new message before the last one ended");
    p->message = p->opcode;
    p->message_started = 0;
    p->message_len = 0;
    p->utf8 = 0;
  }
  if (!control && p->max_message > 0 && len > p->max_message - p->message_len)
    return fail(p, ev, WS_CLOSE_TOO_BIG, "message too big");
  p->state = ST_PAYLOAD;
  return 0;
}

/* A control frame is whole. */
static int control_end(struct wsframe_parser *p, struct wsframe_ev *ev) {
  ev->type = WSFRAME_CONTROL;
  ev->opcode = p->opcode;
  ev->data = p->control;
  ev->len = p->control_len;
  p->state = ST_HEAD;
  if (p->opcode != WSFRAME_CLOSE)
    return 1;
  p->state = ST_DONE;
  ev->code = WS_CLOSE_NO_STATUS;
  ev->reason = "";
  ev->reason_len = 0;
  if (p->control_len == 1)
    return fail(p, ev, WS_CLOSE_PROTOCOL, "close frame of one byte");
  if (p->control_len >= 2) {
    uint32_t st = 0;
    ev->code = p->control[0] << 8 | p->control[1];
    if (!wsframe_close_code_ok(ev->code))
      return fail(p, ev, WS_CLOSE_PROTOCOL, "invalid close code");
    ev->reason = (const char *)p->control + 2;
    ev->reason_len = p->control_len - 2;
    if (wsframe_utf8(&st, p->control + 2, p->control_len - 2) != 0 || st != 0)
      return fail(p, ev, WS_CLOSE_BAD_DATA, "close reason not UTF-8");
  }
  return 1;
}

/* n payload bytes of a data frame, at d: unmasked and reported. */
static int data_piece(struct wsframe_parser *p, uint8_t *d, size_t n,
                      struct wsframe_ev *ev) {
  int last;

  unmask(p, d, n);
  p->left -= n;
  p->message_len += n;
  last = p->fin && p->left == 0;
  if (p->message == WSFRAME_TEXT &&
      (wsframe_utf8(&p->utf8, d, n) != 0 || (last && p->utf8 != 0)))
    return fail(p, ev, WS_CLOSE_BAD_DATA, "text message not UTF-8");
  if (p->left == 0)
    p->state = ST_HEAD;
  if (n == 0 && !last)
    return 0;
  ev->type = WSFRAME_DATA;
  ev->opcode = p->message;
  ev->first = !p->message_started;
  ev->last = last;
  ev->data = d;
  ev->len = n;
  p->message_started = 1;
  if (last)
    p->message = 0;
  return 1;
}

size_t wsframe_parse(struct wsframe_parser *p, uint8_t *in, size_t len,
                     struct wsframe_ev *ev) {
  size_t pos = 0;

  ev->type = WSFRAME_NONE;
  if (p->state == ST_DONE)
    return len;
  while (pos < len || (p->state == ST_PAYLOAD && p->left == 0)) {
    if (p->state == ST_HEAD) {
      size_t n = p->head_need - p->head_len;
      if (n > len - pos)
        n = len - pos;
      memcpy(p->head + p->head_len, in + pos, n);
      p->head_len += (unsigned)n;
      pos += n;
      if (p->head_len < p->head_need)
        break;
      if (p->head_len == 2) {
        /* The first two bytes say what the rest of the head is. */
        const char *bad = head_error(p->head);
        if (bad != NULL) {
          fail(p, ev, WS_CLOSE_PROTOCOL, bad);
          return pos;
        }
        p->head_need = head_size(p->head);
        continue;
      }
      p->head_len = 0;
      p->head_need = 2;
      if (frame_begin(p, ev))
        return pos;
    } else {
      /* ST_PAYLOAD */
      size_t n = len - pos;
      if (n > p->left)
        n = (size_t)p->left;
      if (p->opcode & 0x8) {
        memcpy(p->control + p->control_len, in + pos, n);
        unmask(p, p->control + p->control_len, n);
        p->control_len += n;
        p->left -= n;
        pos += n;
        if (p->left == 0) {
          control_end(p, ev);
          return pos;
        }
      } else {
        int done = data_piece(p, in + pos, n, ev);
        pos += n;
        if (done)
          return pos;
      }
    }
  }
  return pos;
}
