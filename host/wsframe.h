/* wsframe.h - WebSocket frames (RFC 6455, section 5): an incremental
 * parser of what a client sends, and the heads of what the server sends.
 * Pure: bytes in, events out; no I/O, no allocation. */
#ifndef MCHOST_WSFRAME_H
#define MCHOST_WSFRAME_H

#include <stddef.h>
#include <stdint.h>

enum wsframe_opcode {
  WSFRAME_CONT = 0x0,
  WSFRAME_TEXT = 0x1,
  WSFRAME_BINARY = 0x2,
  WSFRAME_CLOSE = 0x8,
  WSFRAME_PING = 0x9,
  WSFRAME_PONG = 0xa
};

/* Close codes the host itself uses (RFC 6455, 7.4.1). */
enum {
  WS_CLOSE_NORMAL = 1000,
  WS_CLOSE_GOING_AWAY = 1001,
  WS_CLOSE_PROTOCOL = 1002,
  WS_CLOSE_NO_STATUS = 1005, /* never sent: a close frame without a code */
  WS_CLOSE_ABNORMAL = 1006,  /* never sent: the connection was lost */
  WS_CLOSE_BAD_DATA = 1007,
  WS_CLOSE_TOO_BIG = 1009,
  WS_CLOSE_INTERNAL = 1011
};

/* A control frame's payload is at most this long (RFC 6455, 5.5), and a
 * close frame's reason at most this minus the two bytes of its code. */
#define WSFRAME_CONTROL_MAX 125
/* The longest frame head: 2 bytes, 8 of length, 4 of mask. */
#define WSFRAME_HEAD_MAX 14

enum wsframe_event {
  WSFRAME_NONE,    /* the input is used up: nothing to report yet */
  WSFRAME_DATA,    /* a piece of a text or binary message */
  WSFRAME_CONTROL, /* a whole ping, pong or close frame */
  WSFRAME_ERROR    /* the client broke the protocol: fail the connection */
};

struct wsframe_ev {
  enum wsframe_event type;
  /* DATA: the message's opcode (TEXT or BINARY), whether this piece is its
   * first and whether it is its last; CONTROL: PING, PONG or CLOSE; ERROR:
   * 0 (and no data). */
  int opcode;
  int first, last;
  /* DATA: unmasked in place, in the caller's input; CONTROL: the frame's
   * payload, in the parser (valid until the next wsframe_parse()). */
  const uint8_t *data;
  size_t len;
  /* CLOSE: the code received (WS_CLOSE_NO_STATUS when there was none) and
   * the reason, valid UTF-8, not NUL-terminated. ERROR: the code to close
   * with (1002, 1007 or 1009) and a reason (a static string). */
  int code;
  const char *reason;
  size_t reason_len;
};

struct wsframe_parser {
  uint64_t max_message; /* a message longer than this is refused (1009); 0:
                           no limit */
  /* private */
  int state;
  uint8_t head[WSFRAME_HEAD_MAX];
  unsigned head_len, head_need;
  int fin, opcode;
  uint8_t mask[4];
  unsigned mask_pos;
  uint64_t left;       /* payload bytes of this frame still to come */
  int message;         /* opcode of the message in progress, or 0 */
  int message_started; /* a piece of it was reported */
  uint64_t message_len;
  uint32_t utf8; /* validator state of a text message */
  uint8_t control[WSFRAME_CONTROL_MAX];
  size_t control_len;
};

/* Starts a parser for a new connection. */
void wsframe_init(struct wsframe_parser *p, uint64_t max_message);

/* Parses in[0..len) until the first event, which it stores in *ev, and
 * returns how many bytes it used (call again with the rest). Payload bytes
 * are unmasked in place. A DATA event may have len 0 (an empty message).
 * Checks everything section 5 of RFC 6455 requires of a client's frames:
 * the mask, RSV bits, known opcodes, control frames short and whole,
 * continuation order, a 64-bit length with its top bit clear and the
 * minimal length encoding, text and close reasons in UTF-8, valid close
 * codes, and the message limit. After an ERROR or a CLOSE, it consumes and
 * ignores everything. */
size_t wsframe_parse(struct wsframe_parser *p, uint8_t *in, size_t len,
                     struct wsframe_ev *ev);

/* Writes the head of an unmasked frame (a server's) with FIN set into out
 * (WSFRAME_HEAD_MAX bytes); returns its length. */
size_t wsframe_head(uint8_t *out, int opcode, uint64_t len);

/* 1 when code may travel in a close frame (1000-1003, 1007-1014, 3000-4999),
 * else 0. */
int wsframe_close_code_ok(int code);

/* UTF-8 validation, incremental: *state starts at 0 and is 0 again at the
 * end of complete text. Returns 0, or -1 at the first invalid byte
 * (overlong forms, surrogates and code points past U+10FFFF included). */
int wsframe_utf8(uint32_t *state, const uint8_t *s, size_t len);

#endif
